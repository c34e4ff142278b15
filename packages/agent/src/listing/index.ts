import { LIST_ENTRY_CAP } from '@cove/protocol';
import type { Domain } from '../context.js';
import { type ListingLimits, registerListingRoutes } from './listing-routes.js';

/**
 * The listing domain: `GET /files` (tree or flat listing), `GET /files/stream`
 * (NDJSON) and `GET /files/search/files` (filename search).
 * Limits can be lowered for tests.
 */
export function createListingDomain(limits: Partial<ListingLimits> = {}): Domain {
  const resolved: ListingLimits = { entryCap: limits.entryCap ?? LIST_ENTRY_CAP, searchCap: limits.searchCap ?? LIST_ENTRY_CAP };
  return (app, ctx) => registerListingRoutes(app, ctx, resolved);
}

export const listingDomain: Domain = createListingDomain();
