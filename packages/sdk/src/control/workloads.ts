import type { WorkloadCreateBody, WorkloadInfo, WorkloadLogEntry, WorkloadStats, WorkloadStatus, WorkloadUpdateBody } from '@cove/protocol';
import { sseEvents } from '../core/sse.js';
import type { RequestOptions, Transport } from '../core/transport.js';

export type { WorkloadCreateBody, WorkloadInfo, WorkloadLogEntry, WorkloadStats, WorkloadStatus, WorkloadUpdateBody };

/** What `status` answers: the moving parts of a workload. */
export interface WorkloadStatusInfo {
  success: true;
  workload_id: string;
  status: WorkloadStatus;
  enabled: boolean;
  pid: number | null;
  exit_code: number | null;
  signal: string | null;
  restart_count: number;
  next_restart_at: string | null;
  error: string | null;
  started_at: string | null;
  exited_at: string | null;
  uptime_seconds: number | null;
}

const path = (id: string, rest = '') => `/workspace/${encodeURIComponent(id)}/workloads${rest}`;
const one = (id: string, wid: string, rest = '') => path(id, `/${encodeURIComponent(wid)}${rest}`);

/**
 * Managed workloads (`client.workspaces.workloads`): background processes the workspace's agent supervises,
 * with a restart policy (`never`, `on-failure`, `always`; `max_restarts`, `restart_delay`, backoff), a log file
 * kept under `max_log_size_mb`, and `vm_on_exit`. They persist in the workspace and start again with it when
 * `enabled`; a workload is named by its id or its name.
 *
 * @example
 * const web = await client.workspaces.workloads.create('ws_a1b2c3d4', {
 *   name: 'web', cmd: ['python3', '-m', 'http.server', '8080'], restart_policy: 'always',
 * });
 * for await (const line of client.workspaces.workloads.logsStream('ws_a1b2c3d4', web.id)) console.log(line.data);
 */
export class Workloads {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** Creates a workload; it starts at once unless `enabled: false`. */
  async create(id: string, params: WorkloadCreateBody, request?: RequestOptions): Promise<WorkloadInfo> {
    const res = await this.#t.json<{ workload: WorkloadInfo }>({ method: 'POST', path: path(id), json: params }, request);
    return res.workload;
  }

  /** The workloads, optionally only those in `states` (comma-separated) or with `name`. */
  async list(id: string, params: { states?: string; name?: string } = {}, request?: RequestOptions): Promise<WorkloadInfo[]> {
    const res = await this.#t.json<{ workloads: WorkloadInfo[] }>({ method: 'GET', path: path(id), query: params }, request);
    return res.workloads;
  }

  async get(id: string, workload: string, request?: RequestOptions): Promise<WorkloadInfo> {
    const res = await this.#t.json<{ workload: WorkloadInfo }>({ method: 'GET', path: one(id, workload) }, request);
    return res.workload;
  }

  /** Changes the fields given; a running workload whose command, environment, directory or user change restarts. */
  async update(id: string, workload: string, params: WorkloadUpdateBody, request?: RequestOptions): Promise<WorkloadInfo> {
    const res = await this.#t.json<{ workload: WorkloadInfo }>({ method: 'PATCH', path: one(id, workload), json: params }, request);
    return res.workload;
  }

  /** Stops and deletes a workload (and its log). */
  async delete(id: string, workload: string, request?: RequestOptions): Promise<{ success: true; workload_id: string }> {
    return this.#t.json({ method: 'DELETE', path: one(id, workload) }, request);
  }

  async deleteAll(id: string, request?: RequestOptions): Promise<{ success: true; deleted: number }> {
    return this.#t.json({ method: 'DELETE', path: path(id) }, request);
  }

  /** Starts (and enables) a workload. */
  async start(id: string, workload: string, request?: RequestOptions): Promise<WorkloadInfo> {
    const res = await this.#t.json<{ workload: WorkloadInfo }>({ method: 'POST', path: one(id, workload, '/start') }, request);
    return res.workload;
  }

  /** Stops (and disables) a workload: SIGTERM to its process group, SIGKILL after a grace. */
  async stop(id: string, workload: string, request?: RequestOptions): Promise<WorkloadInfo> {
    const res = await this.#t.json<{ workload: WorkloadInfo }>({ method: 'POST', path: one(id, workload, '/stop') }, request);
    return res.workload;
  }

  status(id: string, workload: string, request?: RequestOptions): Promise<WorkloadStatusInfo> {
    return this.#t.json({ method: 'GET', path: one(id, workload, '/status') }, request);
  }

  /** The end of its log (stdout and stderr, in the order written). */
  async logs(id: string, workload: string, options: { tailLines?: number } = {}, request?: RequestOptions): Promise<WorkloadLogEntry[]> {
    const res = await this.#t.json<{ logs: WorkloadLogEntry[] }>(
      { method: 'GET', path: one(id, workload, '/logs'), query: { tail_lines: options.tailLines } },
      request,
    );
    return res.logs;
  }

  /** Its log's end, then each line as it is written, until `request.signal` aborts or the loop breaks. */
  async *logsStream(
    id: string,
    workload: string,
    options: { tailLines?: number } = {},
    request: RequestOptions = {},
  ): AsyncGenerator<WorkloadLogEntry> {
    yield* this.#stream<WorkloadLogEntry>(one(id, workload, '/logs/stream'), 'log', { tail_lines: options.tailLines }, request);
  }

  /** Its processes, CPU and resident memory now (from /proc). */
  stats(id: string, workload: string, request?: RequestOptions): Promise<WorkloadStats & { success: true }> {
    return this.#t.json({ method: 'GET', path: one(id, workload, '/stats') }, request);
  }

  async *statsStream(
    id: string,
    workload: string,
    options: { intervalMs?: number } = {},
    request: RequestOptions = {},
  ): AsyncGenerator<WorkloadStats> {
    yield* this.#stream<WorkloadStats>(one(id, workload, '/stats/stream'), 'stats', { interval_ms: options.intervalMs }, request);
  }

  /** Every workload's stats, one event each per interval. */
  async *allStatsStream(id: string, options: { intervalMs?: number } = {}, request: RequestOptions = {}): AsyncGenerator<WorkloadStats> {
    yield* this.#stream<WorkloadStats>(path(id, '/stats/stream'), 'stats', { interval_ms: options.intervalMs }, request);
  }

  async *#stream<T>(
    streamPath: string,
    name: string,
    query: Record<string, number | undefined>,
    request: RequestOptions,
  ): AsyncGenerator<T> {
    const res = await this.#t.send({ method: 'GET', path: streamPath, query, headers: { accept: 'text/event-stream' } }, request);
    if (!res.body) return;
    for await (const { event, ...data } of sseEvents<T>(res.body, request.signal)) {
      if (event === name) yield data as T;
    }
  }
}
