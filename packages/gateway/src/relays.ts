import type { UpstreamPools } from '@cove/wire';

/**
 * Why the gateway ends a workspace's relayed connections itself: its agent exited (the driver said so), the
 * workspace stopped, was removed or had its access disabled (its route says so), or it serves at another address
 * now (restarted elsewhere). A container that dies whole sends no FIN and no RST: without this, what was relayed
 * to it would hang for as long as the caller waits.
 */
export type CutReason = 'exited' | 'stopped' | 'moved';

/** The close a WebSocket's caller gets for each reason (codes of RFC 6455 §7.4 and the IANA registry). */
export const CLOSE_OF: Readonly<Record<CutReason, { code: number; reason: string }>> = {
  // 1011: the server met a condition that prevented it from going on.
  exited: { code: 1011, reason: 'the workspace agent exited' },
  // 1001: the endpoint is going away.
  stopped: { code: 1001, reason: 'the workspace stopped' },
  // 1012: service restart; the caller may connect again.
  moved: { code: 1012, reason: 'the workspace restarted' },
};

/** A WebSocket relayed to a workspace's agent. */
export interface RelayedTunnel {
  readonly workspaceId: string;
  /** The agent's address it was opened to (`http://ip:port`, the pools' key). */
  readonly origin: string;
  /** Ends it: a close frame for the caller where one can go in, else the connection is cut. */
  cut(reason: CutReason): void;
  /** Cuts it at once (the gateway closes). */
  destroy(): void;
}

/**
 * What the gateway relays, by workspace: WebSocket tunnels, and the agent addresses whose connection pools carry
 * its HTTP requests and streams. `cut` ends all of a workspace's (or those to an address it left).
 */
export class Relays {
  readonly #pools: UpstreamPools;
  readonly #tunnels = new Map<string, Set<RelayedTunnel>>();
  /**
   * Pool key (`http://ip:port`, `…#proxy`) → the workspace it was last used for, and the other way round: one
   * entry per agent address in use or used before (addresses come from the workspaces' subnet, reused), so no
   * pruning is needed.
   */
  readonly #origins = new Map<string, string>();
  readonly #originsOf = new Map<string, Set<string>>();

  constructor(pools: UpstreamPools) {
    this.#pools = pools;
  }

  /** A request goes to `origin` for `workspaceId` (one map look-up on the hot path). */
  noteOrigin(origin: string, workspaceId: string): void {
    const before = this.#origins.get(origin);
    if (before === workspaceId) return;
    if (before !== undefined) {
      const previous = this.#originsOf.get(before);
      if (previous?.delete(origin) && previous.size === 0) this.#originsOf.delete(before);
    }
    this.#origins.set(origin, workspaceId);
    let set = this.#originsOf.get(workspaceId);
    if (set === undefined) {
      set = new Set();
      this.#originsOf.set(workspaceId, set);
    }
    set.add(origin);
  }

  addTunnel(tunnel: RelayedTunnel): void {
    let set = this.#tunnels.get(tunnel.workspaceId);
    if (set === undefined) {
      set = new Set();
      this.#tunnels.set(tunnel.workspaceId, set);
    }
    set.add(tunnel);
  }

  deleteTunnel(tunnel: RelayedTunnel): void {
    const set = this.#tunnels.get(tunnel.workspaceId);
    if (set?.delete(tunnel) && set.size === 0) this.#tunnels.delete(tunnel.workspaceId);
  }

  /**
   * Workspaces with something relayed now: tunnels, or requests in flight in the pools (idle pooled connections
   * need no watching: no request goes to a workspace its route refuses, and they expire within 30 s).
   */
  workspaces(): Set<string> {
    const ids = new Set(this.#tunnels.keys());
    for (const origin of this.#pools.busyOrigins()) {
      const id = this.#origins.get(origin);
      if (id !== undefined) ids.add(id);
    }
    return ids;
  }

  /**
   * Ends a workspace's WebSockets and cuts its pools' connections (streams mid-body are reset, requests not yet
   * answered fail with 503). With `keepOrigin`, only what goes to another address than that one (the workspace
   * moved; what goes to its current address is fine). Returns how many tunnels and addresses were cut.
   */
  cut(workspaceId: string, reason: CutReason, keepOrigin?: string): number {
    let count = 0;
    for (const tunnel of [...(this.#tunnels.get(workspaceId) ?? [])]) {
      if (tunnel.origin === keepOrigin) continue;
      this.deleteTunnel(tunnel);
      tunnel.cut(reason);
      count++;
    }
    const origins = this.#originsOf.get(workspaceId);
    for (const origin of origins ?? []) {
      if (keepOrigin !== undefined && originOf(origin) === keepOrigin) continue;
      origins?.delete(origin);
      this.#origins.delete(origin);
      this.#pools.closeOrigin(origin);
      count++;
    }
    if (origins?.size === 0) this.#originsOf.delete(workspaceId);
    return count;
  }

  /** Cuts every tunnel (the gateway closes; the pools are closed with it). */
  destroyAll(): void {
    for (const set of this.#tunnels.values()) for (const tunnel of set) tunnel.destroy();
    this.#tunnels.clear();
    this.#origins.clear();
    this.#originsOf.clear();
  }
}

/** The agent address of a pool key (public ports' pools carry a `#proxy` suffix). */
function originOf(key: string): string {
  const hash = key.indexOf('#');
  return hash < 0 ? key : key.slice(0, hash);
}
