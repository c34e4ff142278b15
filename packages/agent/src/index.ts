export { type TokenSource, TokenStore } from './auth/token-store.js';
export type { AgentApp, AgentContext, Domain } from './context.js';
export { createLogger, redactUrl } from './logger.js';
export { type Agent, type AgentOptions, createAgent } from './server.js';
export { AGENT_VERSION } from './version.js';
