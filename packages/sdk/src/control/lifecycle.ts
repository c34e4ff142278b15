import type { RequestOptions, Transport } from '../core/transport.js';

/** What happens when a temporary workspace's TTL runs out. */
export type TtlAction = 'stop' | 'pause' | 'suspend' | 'remove';
/** A duration: whole seconds, or `30s`, `10m`, `2h`, `1d`. */
export type Duration = number | string;

/** Suspend after `suspend_after` without activity (0 or null: no policy), then stop `stop_after` later (0: stay suspended). */
export interface IdlePolicy {
  suspend_after: Duration;
  stop_after?: Duration;
}

/** A lifecycle event: a TTL that ran out, an idle suspend or stop, a wake, an agent that died and its restart. */
export interface LifecycleEvent {
  at: string;
  type: string;
  action?: string;
  detail?: string;
}

/** `GET /workspace/:id/lifecycle` (the official SDK's LifecycleStatus, plus Cove's history and sleep state). */
export interface LifecycleStatus {
  success: true;
  workspace_id: string;
  mode: 'permanent' | 'temporary';
  status: string;
  ttl?: number;
  ttl_action: TtlAction;
  expires_at?: string;
  remove_on_exit: boolean;
  idle: { suspend_after: number; stop_after: number } | null;
  restart_policy: 'never' | 'on-failure' | 'always';
  max_restarts: number;
  restart_info: { count: number; last_restart_at: string | null };
  /** Seconds since it last started (0 while not running). */
  uptime: number;
  snapshot_supported: boolean;
  snapshot_unavailable_reason: string | null;
  /** Who put it to sleep: `user`, `ttl`, `idle`, `failure`; null while it runs. */
  stopped_by: string | null;
  /** Whether a request through the gateway wakes it now. */
  wake_on_traffic: boolean;
  last_activity_at: string | null;
  events: LifecycleEvent[];
  created_at: string;
  [key: string]: unknown;
}

const path = (id: string, rest: string) => `/workspace/${encodeURIComponent(id)}${rest}`;

/**
 * A workspace's lifecycle (`client.workspaces.lifecycle`): temporary workspaces with a TTL, idle policies (suspend
 * with memory kept, then stop; a request through the gateway wakes it), restart policies.
 *
 * @example
 * await client.workspaces.lifecycle.makeTemporary(id, { ttl: '1h', ttl_action: 'remove' });
 * await client.workspaces.lifecycle.setIdle(id, { suspend_after: '10m', stop_after: '1h' });
 * await client.workspaces.lifecycle.ping(id); // renews the TTL
 * const { expires_at, events } = await client.workspaces.lifecycle.get(id);
 */
export class Lifecycle {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  get(id: string, request?: RequestOptions): Promise<LifecycleStatus> {
    return this.#t.json({ method: 'GET', path: path(id, '/lifecycle') }, request);
  }

  /** Back to the defaults: permanent, no TTL, no idle policy, never restarted (the workspace stays). */
  destroy(id: string, request?: RequestOptions): Promise<LifecycleStatus> {
    return this.#t.json({ method: 'DELETE', path: path(id, '/lifecycle') }, request);
  }

  /** No TTL; optionally a restart policy for when its agent or container dies. */
  makePermanent(
    id: string,
    params: { restart_policy?: 'never' | 'on-failure' | 'always'; max_restarts?: number } = {},
    request?: RequestOptions,
  ): Promise<LifecycleStatus> {
    return this.#t.json({ method: 'POST', path: path(id, '/lifecycle/permanent'), json: params }, request);
  }

  /** A TTL (default 1 h) counted from now; `ttl_action` (default `stop`) when it runs out. */
  makeTemporary(
    id: string,
    params: { ttl?: Duration; ttl_action?: TtlAction; remove_on_exit?: boolean } = {},
    request?: RequestOptions,
  ): Promise<LifecycleStatus> {
    return this.#t.json({ method: 'POST', path: path(id, '/lifecycle/temporary'), json: params }, request);
  }

  updateTtl(id: string, params: { ttl?: Duration; ttl_action?: TtlAction }, request?: RequestOptions): Promise<LifecycleStatus> {
    return this.#t.json({ method: 'PUT', path: path(id, '/lifecycle/ttl'), json: params }, request);
  }

  /** The idle policy; null clears it. */
  setIdle(id: string, policy: IdlePolicy | null, request?: RequestOptions): Promise<LifecycleStatus> {
    return this.#t.json({ method: 'PUT', path: path(id, '/lifecycle/idle'), json: policy ?? { suspend_after: 0 } }, request);
  }

  /** Activity now; a temporary workspace's TTL starts again (for `ttl_seconds` when given). */
  ping(
    id: string,
    params: { ttl_seconds?: number } = {},
    request?: RequestOptions,
  ): Promise<{ success: true; status: string; pinged_at: string; expires_at?: string; [key: string]: unknown }> {
    return this.#t.json({ method: 'POST', path: path(id, '/ping'), json: params }, request);
  }
}
