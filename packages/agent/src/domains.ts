import { activityDomain } from './activity/index.js';
import type { Domain } from './context.js';
import { execDomain } from './exec/index.js';
import { filesDomain } from './files/index.js';
import { listingDomain } from './listing/index.js';
import { logsDomain } from './logs/index.js';
import { runtimeDomain } from './runtime/runtime-routes.js';
import { searchDomain } from './search/index.js';
import { terminalsDomain } from './terminals/index.js';
import { watchersDomain } from './watchers/index.js';
import { workloadsDomain } from './workloads/index.js';

/**
 * Every domain the agent serves, in registration order. Each lives in its
 * own folder with its routes and its service; `index.ts` is its entry.
 */
export const DOMAINS: readonly Domain[] = [
  runtimeDomain,
  listingDomain,
  filesDomain,
  searchDomain,
  execDomain,
  terminalsDomain,
  watchersDomain,
  activityDomain,
  workloadsDomain,
  logsDomain,
];
