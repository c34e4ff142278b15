export { type AgentConfig, AgentExitError, parseAgentArgs } from './agent-args.js';
export { type TokenSource, TokenStore } from './auth/token-store.js';
export type { AgentApp, AgentContext, Domain } from './context.js';
// Generic HTTP plumbing, shared with the control plane so every Cove server answers errors, empty bodies and 404/405 alike.
export { createLogger } from './logger.js';
export { AGENT_BIN, type AgentMainOptions, main } from './main.js';
export { runAgent } from './run-agent.js';
export { type Agent, type AgentOptions, createAgent } from './server.js';
export { AGENT_VERSION } from './version.js';
