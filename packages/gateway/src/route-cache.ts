import type { RouteSource, WorkspaceRoute } from '@cove/protocol';

interface Entry {
  route: WorkspaceRoute | undefined;
  fetchedAt: number;
}

/**
 * Remembers the RouteSource's answers for at most `ttlMs` (500 ms by
 * default), so that a rotation or a disable written to the store is seen by
 * every gateway instance well within a second, while a busy workspace costs
 * the store two look-ups a second. Concurrent misses for one workspace share
 * a single look-up. A failed look-up is not cached.
 */
export class RouteCache {
  readonly #source: RouteSource;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<WorkspaceRoute | undefined>>();

  constructor(source: RouteSource, ttlMs = 500) {
    this.#source = source;
    this.#ttlMs = ttlMs;
  }

  /** The workspace's route; synchronous while the cached answer is fresh. */
  get(workspaceId: string): WorkspaceRoute | undefined | Promise<WorkspaceRoute | undefined> {
    const entry = this.#entries.get(workspaceId);
    if (entry !== undefined && performance.now() - entry.fetchedAt < this.#ttlMs) return entry.route;
    return this.#fetch(workspaceId);
  }

  clear(): void {
    this.#entries.clear();
  }

  #fetch(workspaceId: string): Promise<WorkspaceRoute | undefined> {
    const pending = this.#pending.get(workspaceId);
    if (pending !== undefined) return pending;
    // The clock starts before the look-up: the answer is never older than ttlMs when used.
    const startedAt = performance.now();
    const promise = this.#source.getRoute(workspaceId).then(
      (route) => {
        this.#pending.delete(workspaceId);
        this.#entries.set(workspaceId, { route, fetchedAt: startedAt });
        // Drop entries of workspaces nobody asks for any more, without a timer.
        if (this.#entries.size > 10_000) this.#sweep();
        return route;
      },
      (err: unknown) => {
        this.#pending.delete(workspaceId);
        throw err;
      },
    );
    this.#pending.set(workspaceId, promise);
    return promise;
  }

  #sweep(): void {
    const now = performance.now();
    for (const [id, entry] of this.#entries) if (now - entry.fetchedAt >= this.#ttlMs) this.#entries.delete(id);
  }
}
