import type { Domain } from './context.js';
import { runtimeDomain } from './runtime/runtime-routes.js';

/**
 * Every domain the agent serves, in registration order. Each lives in its
 * own folder with its routes and its service.
 */
export const DOMAINS: readonly Domain[] = [runtimeDomain];
