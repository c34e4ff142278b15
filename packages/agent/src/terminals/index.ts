import type { Domain } from '../context.js';

/** The terminals domain: registers its routes and services on the agent. */
export const terminalsDomain: Domain = () => {};
