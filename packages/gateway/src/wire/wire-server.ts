import net from 'node:net';
import { DownstreamConnection, type WireHandlers, type WireTimeouts } from './downstream-connection.js';

/** A TCP server speaking HTTP/1.1 through `DownstreamConnection`s. */
export class WireServer {
  readonly #server: net.Server;
  readonly #connections = new Set<DownstreamConnection>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(handlers: WireHandlers, timeouts: Partial<WireTimeouts> = {}) {
    const resolved: WireTimeouts = { headersMs: timeouts.headersMs ?? 60_000, keepAliveMs: timeouts.keepAliveMs ?? 65_000 };
    // allowHalfOpen: a caller that ends its side after sending a request still gets the answer.
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      const connection = new DownstreamConnection(socket, handlers, resolved);
      this.#connections.add(connection);
      socket.once('close', () => this.#connections.delete(connection));
    });
    // Timeouts are enforced within a quarter of their length, checking once a second at most.
    const every = Math.min(1_000, Math.max(20, Math.min(resolved.headersMs, resolved.keepAliveMs) / 4));
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const connection of this.#connections) connection.checkTimeouts(now);
    }, every);
    this.#sweeper.unref();
  }

  /** Starts listening; resolves to the port bound. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting and cuts every connection (upgraded ones included). */
  close(): Promise<void> {
    clearInterval(this.#sweeper);
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const connection of this.#connections) connection.socket.destroy();
    this.#connections.clear();
    return stopped;
  }
}
