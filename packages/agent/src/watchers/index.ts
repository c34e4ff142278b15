import type { Domain } from '../context.js';

/** The watchers domain: registers its routes and services on the agent. */
export const watchersDomain: Domain = () => {};
