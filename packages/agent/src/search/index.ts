import type { Domain } from '../context.js';

/** The search domain: registers its routes and services on the agent. */
export const searchDomain: Domain = () => {};
