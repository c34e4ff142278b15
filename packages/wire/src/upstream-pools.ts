import { performance } from 'node:perf_hooks';
import type { AppError } from '@cove/protocol';
import { answerError } from './error-answers.js';
import type { Exchange } from './exchange.js';
import { type ConnectionPool, UpstreamConnection } from './upstream-connection.js';

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

/** Where a request goes. */
export interface UpstreamTarget {
  /** The key of the connection pool: `http://ip:port`, with a suffix where one upstream has separate pools. */
  origin: string;
  ip: string;
  port: number;
}

export interface UpstreamPoolsOptions extends UpstreamTimeouts {
  /**
   * The end-to-end response headers the caller may see: a flat list, or
   * already as `name: value\r\n` lines (one pass, no list built).
   */
  responseHeaders(raw: readonly string[]): string[] | string;
  /**
   * The trailers of a chunked request body that reach the upstream, and of a
   * chunked response body that reach the caller. Without them trailers are
   * dropped (the body itself is relayed whole either way).
   */
  requestTrailers?: (raw: readonly string[]) => readonly string[];
  responseTrailers?: (raw: readonly string[]) => readonly string[];
  /** What the caller is told when a request could not reach `target` (502, 504). */
  upstreamError(err: Error, target: UpstreamTarget): AppError;
  /** Told of each request that failed before any answer. */
  onFailure?(error: AppError, cause: Error, requestId: string): void;
}

/** Idle connections per agent kept for reuse; more are closed when released. */
const MAX_IDLE_PER_ORIGIN = 256;

/** The keep-alive connections to one agent address. */
class OriginPool implements ConnectionPool {
  readonly #pools: UpstreamPools;
  readonly #target: UpstreamTarget;
  readonly #options: UpstreamPoolsOptions;
  /** Most recently released last: the warmest connection is reused first. */
  readonly idle: UpstreamConnection[] = [];
  /**
   * Every connection not closed yet, idle or busy (`UpstreamConnection.busy`
   * says which): a flag and a count per request rather than a set's insert and
   * delete.
   */
  readonly #open = new Set<UpstreamConnection>();
  busyCount = 0;
  lastUsed = performance.now();

  constructor(pools: UpstreamPools, target: UpstreamTarget, options: UpstreamPoolsOptions) {
    this.#pools = pools;
    this.#target = target;
    this.#options = options;
  }

  get connectMs(): number {
    return this.#pools.connectMs;
  }

  get headersMs(): number {
    return this.#pools.headersMs;
  }

  get requestTrailers(): ((raw: readonly string[]) => readonly string[]) | undefined {
    return this.#options.requestTrailers;
  }

  get responseTrailers(): ((raw: readonly string[]) => readonly string[]) | undefined {
    return this.#options.responseTrailers;
  }

  responseHeaders(raw: readonly string[]): string[] | string {
    return this.#options.responseHeaders(raw);
  }

  send(exchange: Exchange, head: string, allowReuse: boolean): void {
    const now = performance.now();
    this.lastUsed = now;
    let connection = allowReuse ? this.#takeIdle() : undefined;
    const reused = connection !== undefined;
    if (connection === undefined) {
      connection = new UpstreamConnection(this, this.#target.ip, this.#target.port);
      this.#open.add(connection);
    }
    connection.busy = true;
    this.busyCount++;
    connection.send(exchange, head, reused, now);
  }

  /** The warmest idle connection still within its time, closing any found past it. */
  #takeIdle(): UpstreamConnection | undefined {
    for (let connection = this.idle.pop(); connection !== undefined; connection = this.idle.pop()) {
      if (!connection.socket.destroyed && connection.expiresAt > this.lastUsed) return connection;
      connection.socket.destroy();
    }
    return undefined;
  }

  release(connection: UpstreamConnection, idleMs: number): void {
    this.#idle(connection);
    if (idleMs <= 0 || this.idle.length >= MAX_IDLE_PER_ORIGIN) {
      connection.socket.destroy();
      return;
    }
    connection.expiresAt = performance.now() + idleMs;
    this.idle.push(connection);
  }

  discard(connection: UpstreamConnection): void {
    this.#idle(connection);
    this.#open.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
  }

  /** The connection carries no request any more. */
  #idle(connection: UpstreamConnection): void {
    if (!connection.busy) return;
    connection.busy = false;
    this.busyCount--;
  }

  failed(exchange: Exchange, head: string, error: Error, retryable: boolean): void {
    if (exchange.done) return;
    // A kept-alive connection the agent closed just as the request went out: one more try on a new one.
    if (retryable) {
      this.send(exchange, head, false);
      return;
    }
    const answer = this.#options.upstreamError(error, this.#target);
    this.#options.onFailure?.(answer, error, exchange.request.requestId);
    if (exchange.relay !== undefined) exchange.relay.answerFailure(answer, error);
    else answerError(exchange, answer);
  }

  /** Cuts overdue requests and closes connections idle past their time; true when the pool holds nothing at all. */
  sweep(now: number): boolean {
    for (const connection of this.#open) if (connection.busy) connection.checkDeadline(now);
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const connection = this.idle[i] as UpstreamConnection;
      if (connection.expiresAt <= now) connection.socket.destroy();
    }
    return this.idle.length === 0 && this.busyCount === 0;
  }

  destroy(): void {
    for (const connection of [...this.#open]) connection.socket.destroy();
  }
}

/**
 * Keep-alive connections to agents, one pool per agent address, so that
 * requests reuse warm connections instead of paying a TCP handshake each.
 * Idle connections are closed before the agent's own keep-alive timeout
 * (its `Keep-Alive: timeout=N` hint, less a second; 30 s at most), and pools
 * of agents nobody talks to are dropped.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, OriginPool>();
  readonly #options: UpstreamPoolsOptions;
  readonly connectMs: number;
  readonly headersMs: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: UpstreamPoolsOptions) {
    this.#options = options;
    this.connectMs = options.connectMs ?? 5_000;
    this.headersMs = options.headersMs ?? 300_000;
    // A few checks per headers timeout (so a 504 comes within a quarter of it late at most), one a second at most.
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1_000, Math.max(20, this.headersMs / 4)));
    this.#sweeper.unref();
  }

  /** Sends `head` (request line and end-to-end headers, no framing) and the exchange's body to `target`, and relays the answer. */
  forward(target: UpstreamTarget, exchange: Exchange, head: string): void {
    let pool = this.#pools.get(target.origin);
    if (pool === undefined) {
      pool = new OriginPool(this, target, this.#options);
      this.#pools.set(target.origin, pool);
    }
    pool.send(exchange, head, true);
  }

  /** The origins with requests in flight (being sent, or their answers relayed). */
  *busyOrigins(): IterableIterator<string> {
    for (const [origin, pool] of this.#pools) if (pool.busyCount > 0) yield origin;
  }

  /**
   * Cuts every connection to `origin`, busy ones included: its server is gone without saying so (no FIN, no RST
   * ever comes). Answers being relayed are cut; requests not answered yet fail as if the server had closed them.
   */
  closeOrigin(origin: string): void {
    this.#pools.get(origin)?.destroy();
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const pool of this.#pools.values()) pool.destroy();
    this.#pools.clear();
  }

  #sweep(): void {
    const now = performance.now();
    for (const [origin, pool] of this.#pools) {
      if (pool.sweep(now) && now - pool.lastUsed > 5 * 60_000) this.#pools.delete(origin);
    }
  }
}
