import { Pool } from 'undici';

export interface UpstreamTimeouts {
  /** Time to open a TCP connection to an agent (ms). Default 5 s. */
  connectMs?: number;
  /**
   * Time from sending a request to receiving the response headers (ms).
   * Default 300 s: a synchronous `POST /exec` answers only when its command
   * ends. Once headers are in, a response (SSE, download) is never cut.
   */
  headersMs?: number;
}

interface Entry {
  pool: Pool;
  lastUsed: number;
}

const IDLE_POOL_MS = 5 * 60_000;

/**
 * One keep-alive connection pool per agent origin (`http://ip:port`), so
 * requests reuse warm connections instead of paying a TCP handshake each.
 * Pools of agents nobody talked to for a few minutes are closed.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Entry>();
  readonly #connectMs: number;
  readonly #headersMs: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(timeouts: UpstreamTimeouts = {}) {
    this.#connectMs = timeouts.connectMs ?? 5_000;
    this.#headersMs = timeouts.headersMs ?? 300_000;
    this.#sweeper = setInterval(() => this.#sweep(), 60_000);
    this.#sweeper.unref();
  }

  get connectMs(): number {
    return this.#connectMs;
  }

  get headersMs(): number {
    return this.#headersMs;
  }

  get(origin: string): Pool {
    let entry = this.#pools.get(origin);
    if (entry === undefined) {
      const pool = new Pool(origin, {
        connect: { timeout: this.#connectMs },
        headersTimeout: this.#headersMs,
        // An SSE stream may stay silent for minutes; a flowing download is never cut either.
        bodyTimeout: 0,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 60_000,
        pipelining: 1,
      });
      entry = { pool, lastUsed: 0 };
      this.#pools.set(origin, entry);
    }
    entry.lastUsed = performance.now();
    return entry.pool;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const pools = [...this.#pools.values()].map((e) => e.pool);
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }

  #sweep(): void {
    const now = performance.now();
    for (const [origin, entry] of this.#pools) {
      if (now - entry.lastUsed < IDLE_POOL_MS) continue;
      this.#pools.delete(origin);
      // close() lets in-flight requests (a long download) finish first.
      entry.pool.close().catch(() => undefined);
    }
  }
}
