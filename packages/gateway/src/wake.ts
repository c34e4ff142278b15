import { AppError, type RouteSource, type WorkspaceRoute } from '@cove/protocol';
import type { Logger } from 'pino';
import type { RouteCache } from './route-cache.js';

/**
 * Wake on traffic: a request for a sleeping workspace (paused, suspended, or stopped by its idle policy — the
 * route says `wakeable`) asks the route source to wake it and is held until it serves, then goes on with the
 * fresh route. Requests for one workspace share one wake; past `timeoutMs` each held request is answered 503
 * `wake_timeout` (the wake itself goes on, and the next request finds it done or joins it). The source wakes in
 * the gateway's process (`cove up`) or asks the control plane over HTTP (`cove gateway --api-url`, whose wake is
 * `@cove/api`'s `internalWakeClient`): the same sharing and deadline either way.
 */
export class Waker {
  readonly #wake: (workspaceId: string) => Promise<void>;
  readonly #source: RouteSource;
  readonly #routes: RouteCache;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #pending = new Map<string, Promise<WorkspaceRoute | undefined>>();

  /** Undefined when the source cannot wake workspaces (a routes file, a bare store): sleeping ones stay 503. */
  static for(source: RouteSource, routes: RouteCache, timeoutMs: number, log: Logger): Waker | undefined {
    return source.wake === undefined ? undefined : new Waker(source, routes, timeoutMs, log);
  }

  private constructor(source: RouteSource, routes: RouteCache, timeoutMs: number, log: Logger) {
    this.#source = source;
    this.#wake = (id) => (source.wake as (id: string) => Promise<void>).call(source, id);
    this.#routes = routes;
    this.#timeoutMs = timeoutMs;
    this.#log = log;
  }

  /** Wakes the workspace and resolves to its route as it is now (running, or why not). */
  wake(workspaceId: string): Promise<WorkspaceRoute | undefined> {
    let shared = this.#pending.get(workspaceId);
    if (shared === undefined) {
      const started = performance.now();
      shared = this.#wake(workspaceId)
        .then(() => this.#source.getRoute(workspaceId))
        .then((route) => {
          // Every later request takes the woken route from the cache instead of the stale sleeping one.
          if (route !== undefined) this.#routes.put(workspaceId, route);
          this.#log.info({ workspace: workspaceId, ms: Math.round(performance.now() - started) }, 'workspace woken by a request');
          return route;
        })
        .catch((err: unknown) => {
          // The source's refusals (a user-stopped workspace, an unknown one) are answers; anything else — a
          // control plane that cannot be reached from a separate gateway — is a 503 the client may retry.
          if (err instanceof AppError) throw err;
          this.#log.warn({ workspace: workspaceId, err: (err as Error).message }, 'could not wake a workspace');
          throw new AppError('service_unavailable', `workspace '${workspaceId}' could not be woken; retry`, { 'retry-after': '5' });
        })
        .finally(() => this.#pending.delete(workspaceId));
      this.#pending.set(workspaceId, shared);
    }
    return withDeadline(shared, this.#timeoutMs, workspaceId);
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, workspaceId: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AppError(
            'wake_timeout',
            `workspace '${workspaceId}' is waking up and did not answer within ${Math.round(ms / 1000)} s; retry`,
            {
              'retry-after': '5',
            },
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
