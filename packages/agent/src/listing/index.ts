import type { Domain } from '../context.js';

/** The listing domain: registers its routes and services on the agent. */
export const listingDomain: Domain = () => {};
