import { LIST_ENTRY_CAP } from '@cove/protocol';
import type { Domain } from '../context.js';
import { type ListingLimits, registerListingRoutes } from './listing-routes.js';
import { NativeLister } from './native-listing.js';

/**
 * The listing domain: `GET /files` (tree or flat listing), `GET /files/stream`
 * (NDJSON) and `GET /files/search/files` (filename search).
 * Limits can be lowered for tests.
 */
export function createListingDomain(limits: Partial<ListingLimits> & ListingOptions = {}): Domain {
  const resolved: ListingLimits = { entryCap: limits.entryCap ?? LIST_ENTRY_CAP, searchCap: limits.searchCap ?? LIST_ENTRY_CAP };
  return (app, ctx) => {
    // `walker: false` walks in JavaScript only (tests compare both roads).
    const lister = new NativeLister(ctx.log, limits.walker);
    ctx.onClose(() => lister.close());
    registerListingRoutes(app, ctx, resolved, lister);
  };
}

export interface ListingOptions {
  /** The native walker's path (default: the one `npm ci` built), or false for none. */
  walker?: string | false;
}

export const listingDomain: Domain = createListingDomain();
