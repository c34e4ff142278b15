import type { WorkspaceRoute } from '@cove/protocol';
import type { Logger } from 'pino';
import { upstreamOf } from './authorizer.js';
import type { CutReason, Relays } from './relays.js';
import type { RouteCache } from './route-cache.js';

/**
 * Ends relayed connections of workspaces whose route says they are gone: a gateway in another process than the
 * control plane (`cove gateway`) hears of a dead container no other way, since no FIN or RST comes from it. Every
 * `everyMs` (1 s), the route of each workspace with something relayed is looked up (through the route cache: at
 * most two store look-ups a second per workspace) and its connections are cut when it is removed, stopped (by
 * failure, a user or a policy) or has its access disabled, and those to an old address when it serves at a new
 * one. A paused workspace's connections are kept: they go on when it resumes. A failing look-up cuts nothing.
 * A restart that keeps the address and falls between two checks is not seen here: the driver's word reaches a
 * gateway in the control plane's process at once (`Gateway.agentExited`), and TCP keepalive ends the rest.
 */
export class RelayWatch {
  readonly #relays: Relays;
  readonly #routes: RouteCache;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  #checking = false;

  constructor(relays: Relays, routes: RouteCache, log: Logger, everyMs = 1000) {
    this.#relays = relays;
    this.#routes = routes;
    this.#log = log;
    this.#timer = setInterval(() => void this.check(), everyMs);
    this.#timer.unref();
  }

  /** One round (the timer's; tests call it too). */
  async check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const ids = this.#relays.workspaces();
      if (ids.size > 0) await Promise.all([...ids].map((id) => this.#recheck(id)));
    } finally {
      this.#checking = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #recheck(workspaceId: string): Promise<void> {
    let route: WorkspaceRoute | undefined;
    try {
      route = await this.#routes.get(workspaceId);
    } catch {
      return;
    }
    let reason: CutReason;
    let keep: string | undefined;
    if (route === undefined || (!route.running && !route.paused) || (route.running && !route.enabled)) reason = 'stopped';
    else if (route.running) {
      reason = 'moved';
      keep = upstreamOf(route).origin;
    } else return; // paused
    const count = this.#relays.cut(workspaceId, reason, keep);
    if (count > 0) this.#log.info({ workspace: workspaceId, reason, cut: count }, 'relayed connections of a workspace ended');
  }
}
