import type { RequestOptions, Transport } from '../core/transport.js';
import type { Runtime } from '../runtime/runtime.js';
import { ApiAccess } from './api-access.js';
import { Images } from './images.js';
import { Lifecycle } from './lifecycle.js';
import { Logs } from './logs.js';
import { Metadata } from './metadata.js';
import { Metrics } from './metrics.js';
import { Network } from './network.js';
import { PublicAccess } from './public-access.js';
import { Resources } from './resources.js';
import { RuntimeCache } from './runtime-cache.js';
import { Snapshots } from './snapshots.js';
import { Workloads } from './workloads.js';

export interface WorkspaceInfo {
  id: string;
  name?: string;
  image?: string;
  status: string;
  ready?: boolean;
  created_at?: string;
  updated_at?: string;
  config?: { cpus?: number; memory_mb?: number; disk_size_mb?: number };
  [key: string]: unknown;
}

export interface CreateWorkspaceOptions {
  name?: string;
  image?: string;
  cpus?: number;
  memoryMb?: number;
  diskSizeMb?: number;
  [key: string]: unknown;
}

const path = (id: string, rest = '') => `/workspace/${encodeURIComponent(id)}${rest}`;

/**
 * Workspaces (`client.workspaces`).
 *
 * @example
 * const ws = await client.workspaces.create({ name: 'dev', image: 'debian' });
 * const rt = await client.workspaces.runtime(ws.id);
 * await rt.exec.run(['ls', '-la']);
 */
export class Workspaces {
  readonly apiAccess: ApiAccess;
  readonly network: Network;
  /** TTLs, idle policies, restart policies, ping. */
  readonly lifecycle: Lifecycle;
  /** Public URLs for the workspace's ports. */
  readonly publicAccess: PublicAccess;
  /** The images workspaces are created from: list, get, pull, import, remove. */
  readonly images: Images;
  /** Figures read from the kernel: stats (one, or a stream), info, config. */
  readonly metrics: Metrics;
  /** Managed background processes, supervised in the workspace. */
  readonly workloads: Workloads;
  /** Boot and command logs, log files. */
  readonly logs: Logs;
  /** Snapshots (the file system at one instant) and versioned archives. */
  readonly snapshots: Snapshots;
  /** Labels: string keys and values. */
  readonly metadata: Metadata;
  /** CPUs, memory and disk after creation. */
  readonly resources: Resources;
  readonly #t: Transport;
  readonly #runtimes: RuntimeCache;

  constructor(transport: Transport, gatewayURL: string | undefined, fetchImpl: typeof fetch | undefined) {
    this.#t = transport;
    this.apiAccess = new ApiAccess(transport);
    this.network = new Network(transport);
    this.lifecycle = new Lifecycle(transport);
    this.publicAccess = new PublicAccess(transport);
    this.images = new Images(transport);
    this.metrics = new Metrics(transport);
    this.workloads = new Workloads(transport);
    this.logs = new Logs(transport);
    this.snapshots = new Snapshots(transport);
    this.metadata = new Metadata(transport);
    this.resources = new Resources(transport);
    this.#runtimes = new RuntimeCache(this.apiAccess, gatewayURL, fetchImpl);
  }

  /** Creates a workspace and returns it. */
  async create(options: CreateWorkspaceOptions = {}, request?: RequestOptions): Promise<WorkspaceInfo> {
    const { cpus, memoryMb, diskSizeMb, ...rest } = options;
    const config: Record<string, number> = {};
    if (cpus !== undefined) config.cpus = cpus;
    if (memoryMb !== undefined) config.memory_mb = memoryMb;
    if (diskSizeMb !== undefined) config.disk_size_mb = diskSizeMb;
    const json = Object.keys(config).length > 0 ? { ...rest, config } : rest;
    const body = await this.#t.json<{ workspace: WorkspaceInfo }>({ method: 'POST', path: '/workspace', json }, request);
    return body.workspace;
  }

  async get(id: string, request?: RequestOptions): Promise<WorkspaceInfo> {
    const body = await this.#t.json<{ workspace: WorkspaceInfo }>({ method: 'GET', path: path(id) }, request);
    return body.workspace;
  }

  list(
    query: { page?: number; limit?: number; status?: string } = {},
    request?: RequestOptions,
  ): Promise<{ success: true; workspaces: WorkspaceInfo[]; total: number }> {
    return this.#t.json({ method: 'GET', path: '/workspace', query }, request);
  }

  async update(id: string, changes: { name?: string; [key: string]: unknown }, request?: RequestOptions): Promise<WorkspaceInfo> {
    const body = await this.#t.json<{ workspace: WorkspaceInfo }>({ method: 'PUT', path: path(id), json: changes }, request);
    return body.workspace;
  }

  delete(id: string, request?: RequestOptions): Promise<{ success: true; [key: string]: unknown }> {
    this.#runtimes.invalidate(id);
    return this.#t.json({ method: 'DELETE', path: path(id) }, request);
  }

  start(id: string, request?: RequestOptions): Promise<{ success: true; [key: string]: unknown }> {
    return this.#t.json({ method: 'POST', path: path(id, '/start') }, request);
  }

  stop(id: string, request?: RequestOptions): Promise<{ success: true; [key: string]: unknown }> {
    return this.#t.json({ method: 'POST', path: path(id, '/stop') }, request);
  }

  restart(id: string, request?: RequestOptions): Promise<{ success: true; [key: string]: unknown }> {
    return this.#t.json({ method: 'POST', path: path(id, '/restart') }, request);
  }

  /**
   * New workspaces from this one's file system at this instant (`count`, default 1; named `name`, numbered when
   * several), each with its image, limits and network settings and its own address and token; started.
   */
  async fork(id: string, params: { name?: string; count?: number } = {}, request?: RequestOptions): Promise<WorkspaceInfo[]> {
    const body = await this.#t.json<{ workspaces: WorkspaceInfo[] }>({ method: 'POST', path: path(id, '/fork'), json: params }, request);
    return body.workspaces;
  }

  /** Freezes every process of the workspace where it is (memory kept) until `resume`. */
  pause(id: string, request?: RequestOptions): Promise<{ success: true; [key: string]: unknown }> {
    return this.#t.json({ method: 'POST', path: path(id, '/pause') }, request);
  }

  resume(id: string, request?: RequestOptions): Promise<{ success: true; [key: string]: unknown }> {
    return this.#t.json({ method: 'POST', path: path(id, '/resume') }, request);
  }

  /** Records activity; renews a temporary workspace's TTL (see `lifecycle`). */
  ping(id: string, params: { ttl_seconds?: number } = {}, request?: RequestOptions) {
    return this.lifecycle.ping(id, params, request);
  }

  /**
   * The workspace's runtime through the gateway. Enables access when needed,
   * caches the gateway JWT, refreshes it before it expires and once after a 401.
   * `force` mints a fresh token now.
   */
  runtime(id: string, options: { force?: boolean } = {}): Promise<Runtime> {
    return this.#runtimes.get(id, options.force ?? false);
  }
}
