import type { Domain } from '../context.js';

/** The exec domain: registers its routes and services on the agent. */
export const execDomain: Domain = () => {};
