import type { RequestOptions, Transport } from '../core/transport.js';

/** One size's change: from what to what, and whether it is in effect now. */
export interface ResourceChange {
  from: number;
  to: number;
  applied: boolean;
  /** When it takes effect if not now: `start` (a stopped workspace), `restart` (a running one); null: the driver applies no limits. */
  applies_on: 'now' | 'start' | 'restart' | null;
  reason?: string;
}

/** `GET /workspace/:id/resources`; `update` and `patch` add `changes`. */
export interface WorkspaceResources {
  success: true;
  workspace_id: string;
  status: string;
  driver: string;
  cpus: number;
  memory_mb: number;
  disk_size_mb: number;
  resources: { cpus: number; memory_mb: number; disk_size_mb: number };
  /** What all the account's workspaces have, against its caps (null: no cap). */
  account: Record<'cpus' | 'memory_mb' | 'disk_mb', { used: number; limit: number | null }>;
  changes?: Partial<Record<'cpus' | 'memory_mb' | 'disk_size_mb', ResourceChange>>;
  [key: string]: unknown;
}

/** The sizes to change; `apply: false` records them for the next start without touching the running workspace. */
export interface UpdateResourcesParams {
  cpus?: number;
  memory_mb?: number;
  /** Only grows. */
  disk_size_mb?: number;
  apply?: boolean;
}

const path = (id: string) => `/workspace/${encodeURIComponent(id)}/resources`;

/**
 * A workspace's CPUs, memory and disk (`client.workspaces.resources`). CPU and memory change live on a running
 * sandbox workspace; the disk only grows (online where the host allows it, else at the next start: see
 * `changes.disk_size_mb.applies_on`). The account's caps apply.
 *
 * @example
 * const r = await client.workspaces.resources.update(id, { memory_mb: 2048, disk_size_mb: 8192 });
 * if (r.changes?.disk_size_mb?.applies_on === 'restart') await client.workspaces.restart(id);
 */
export class Resources {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** The sizes and the account's use (`GET`). */
  get(id: string, request?: RequestOptions): Promise<WorkspaceResources> {
    return this.#t.json({ method: 'GET', path: path(id) }, request);
  }

  /** Changes the sizes named (`PUT`); the others stay. */
  update(id: string, params: UpdateResourcesParams, request?: RequestOptions): Promise<WorkspaceResources> {
    return this.#t.json({ method: 'PUT', path: path(id), json: params }, request);
  }

  /** The same as `update` (`PATCH`). */
  patch(id: string, params: UpdateResourcesParams, request?: RequestOptions): Promise<WorkspaceResources> {
    return this.#t.json({ method: 'PATCH', path: path(id), json: params }, request);
  }
}
