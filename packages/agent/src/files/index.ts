import type { Domain } from '../context.js';

/** The files domain: registers its routes and services on the agent. */
export const filesDomain: Domain = () => {};
