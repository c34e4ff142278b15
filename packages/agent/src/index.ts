export { type TokenSource, TokenStore } from './auth/token-store.js';
export type { AgentApp, AgentContext, Domain } from './context.js';
// Generic Fastify plumbing, shared with the control plane so every Cove server answers errors, empty bodies and 404/405 alike.
export { installBodyParsers } from './http/body-parsers.js';
export { installErrorHandler, sendError, toAppError } from './http/error-handler.js';
export { RouteTable } from './http/route-table.js';
export { createLogger, redactUrl } from './logger.js';
export { type Agent, type AgentOptions, createAgent } from './server.js';
export { AGENT_VERSION } from './version.js';
