/** The agent's version, reported by `/runtime` and `/runtimes`. */
export const AGENT_VERSION = '0.1.0';

/** What this agent serves, reported to clients that ask. */
export const CAPABILITIES = ['files', 'search', 'exec', 'terminals', 'watchers', 'ws', 'transfer', 'proxy'] as const;
