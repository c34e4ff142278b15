import type { ConfigResponse, InfoResponse, StatsResponse, StatsSample } from '@cove/protocol';
import { sseEvents } from '../core/sse.js';
import type { RequestOptions, Transport } from '../core/transport.js';

export type { StatsResponse, StatsSample };
/** `client.workspaces.metrics.info`: what the workspace runs on. */
export type MetricsInfo = InfoResponse;
/** `client.workspaces.metrics.config`: the resources asked for and the limits enforced now. */
export type MetricsConfig = ConfigResponse;

const path = (id: string, rest: string) => `/workspace/${encodeURIComponent(id)}${rest}`;

/**
 * A running workspace's figures, read from the kernel (`client.workspaces.metrics`): CPU (use, throttling),
 * memory (current, limit, peak, OOM kills), processes, disk and network. A figure the driver cannot read is null.
 *
 * @example
 * const s = await client.workspaces.metrics.stats('ws_a1b2c3d4');
 * console.log(`${s.cpu_usage}% CPU, ${s.memory.current_bytes} bytes, ${s.memory.oom_kills} OOM kills`);
 * for await (const sample of client.workspaces.metrics.statsStream('ws_a1b2c3d4', { intervalMs: 1000 })) {
 *   console.log(sample.timestamp, sample.cpu.cores, sample.network.rx_bytes);
 * }
 */
export class Metrics {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** One reading (`GET /workspace/:id/stats`); 409 when the workspace is stopped. */
  stats(id: string, request?: RequestOptions): Promise<StatsResponse> {
    return this.#t.json({ method: 'GET', path: path(id, '/stats') }, request);
  }

  /**
   * A reading per interval (`GET /workspace/:id/stats/stream`, SSE; default 1 s, 250 ms–60 s) until the workspace
   * stops, `request.signal` aborts or the loop breaks (which closes the connection).
   */
  async *statsStream(id: string, options: { intervalMs?: number } = {}, request: RequestOptions = {}): AsyncGenerator<StatsSample> {
    const res = await this.#t.send(
      {
        method: 'GET',
        path: path(id, '/stats/stream'),
        query: { interval_ms: options.intervalMs },
        headers: { accept: 'text/event-stream' },
      },
      request,
    );
    if (!res.body) return;
    for await (const { event, ...sample } of sseEvents<StatsSample>(res.body, request.signal)) {
      if (event === 'stats') yield sample as StatsSample;
    }
  }

  /** What the workspace runs on: driver, kernel, architecture, cgroup layout (`GET /workspace/:id/info`). */
  info(id: string, request?: RequestOptions): Promise<MetricsInfo> {
    return this.#t.json({ method: 'GET', path: path(id, '/info') }, request);
  }

  /** The sizes asked for and the limits the kernel enforces while it runs (`GET /workspace/:id/config`). */
  config(id: string, request?: RequestOptions): Promise<MetricsConfig> {
    return this.#t.json({ method: 'GET', path: path(id, '/config') }, request);
  }
}
