import type { PublicPortRoute, RouteSource, WorkspaceRoute } from '@cove/protocol';

interface Entry<T> {
  value: T | undefined;
  fetchedAt: number;
}

/**
 * Remembers a look-up's answers for at most `ttlMs` (500 ms by default), so
 * that a rotation, a disable or a revocation written to the store is seen by
 * every gateway instance well within a second, while a busy key costs the
 * store two look-ups a second. Concurrent misses for one key share a single
 * look-up. A failed look-up is not cached.
 */
export class LookupCache<T> {
  readonly #lookup: (key: string) => Promise<T | undefined>;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry<T>>();
  readonly #pending = new Map<string, Promise<T | undefined>>();

  constructor(lookup: (key: string) => Promise<T | undefined>, ttlMs = 500) {
    this.#lookup = lookup;
    this.#ttlMs = ttlMs;
  }

  /** The answer for `key`; synchronous while the cached one is fresh. */
  get(key: string): T | undefined | Promise<T | undefined> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && performance.now() - entry.fetchedAt < this.#ttlMs) return entry.value;
    return this.#fetch(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /**
   * Forgets the answer for `key`, a look-up under way included (its answer may predate the change): the next
   * request looks it up again. For a change the caller is told of as it happens (see `Gateway.routeChanged`).
   */
  drop(key: string): void {
    this.#entries.delete(key);
    this.#pending.delete(key);
  }

  /** Replaces the answer for `key` with one known to be current (a workspace just woken). */
  put(key: string, value: T): void {
    this.#entries.set(key, { value, fetchedAt: performance.now() });
  }

  #fetch(key: string): Promise<T | undefined> {
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending;
    // The clock starts before the look-up: the answer is never older than ttlMs when used.
    const startedAt = performance.now();
    const promise = this.#lookup(key).then(
      (value) => {
        // Dropped while under way: the answer is the caller's, not the cache's.
        if (this.#pending.get(key) !== promise) return value;
        this.#pending.delete(key);
        this.#entries.set(key, { value, fetchedAt: startedAt });
        // Drop entries of keys nobody asks for any more, without a timer.
        if (this.#entries.size > 10_000) this.#sweep();
        return value;
      },
      (err: unknown) => {
        if (this.#pending.get(key) === promise) this.#pending.delete(key);
        throw err;
      },
    );
    this.#pending.set(key, promise);
    return promise;
  }

  #sweep(): void {
    const now = performance.now();
    for (const [key, entry] of this.#entries) if (now - entry.fetchedAt >= this.#ttlMs) this.#entries.delete(key);
  }
}

/** Workspaces' routes (`RouteSource.getRoute`), cached. */
export class RouteCache extends LookupCache<WorkspaceRoute> {
  constructor(source: RouteSource, ttlMs = 500) {
    super((workspaceId) => source.getRoute(workspaceId), ttlMs);
  }
}

/** Exposed ports by slug (`RouteSource.getPublicPort`), cached like routes. */
export class PublicPortCache extends LookupCache<PublicPortRoute> {
  constructor(source: RouteSource, ttlMs = 500) {
    super((slug) => source.getPublicPort(slug), ttlMs);
  }
}
