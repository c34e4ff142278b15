import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { DownstreamConnection, type WireHandlers, type WireHandOff, type WireTimeouts } from './downstream-connection.js';

/**
 * HTTP/1.1 served through `DownstreamConnection`s: on its own TCP server
 * (`listen`), or on connections another server accepted (`accept`, with a
 * `WireHandOff` giving that server the requests the wire does not keep).
 */
export class WireServer {
  readonly #handlers: WireHandlers;
  readonly #timeouts: WireTimeouts;
  readonly #handOff: WireHandOff | undefined;
  #server: net.Server | undefined;
  readonly #connections = new Set<DownstreamConnection>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #release = (connection: DownstreamConnection): void => {
    this.#connections.delete(connection);
  };
  #closed = false;

  constructor(handlers: WireHandlers, timeouts: Partial<WireTimeouts> = {}, handOff?: WireHandOff) {
    this.#handlers = handlers;
    this.#timeouts = { headersMs: timeouts.headersMs ?? 60_000, keepAliveMs: timeouts.keepAliveMs ?? 65_000 };
    this.#handOff = handOff;
    // Timeouts are enforced within a quarter of their length (a period is timed from the first sweep that sees it:
    // late by up to two sweeps), checking once a second at most.
    const every = Math.min(1_000, Math.max(20, Math.min(this.#timeouts.headersMs, this.#timeouts.keepAliveMs) / 8));
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const connection of this.#connections) connection.checkTimeouts(now);
    }, every);
    this.#sweeper.unref();
  }

  /** Serves a connection accepted elsewhere (it must be fresh: nothing read from it yet). */
  accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const connection = new DownstreamConnection(socket, this.#handlers, this.#timeouts, this.#handOff, this.#release);
    this.#connections.add(connection);
    socket.once('close', () => this.#connections.delete(connection));
  }

  /** Starts listening on a TCP server of its own; resolves to the port bound. */
  listen(host: string, port: number): Promise<number> {
    // allowHalfOpen: a caller that ends its side after sending a request still gets the answer.
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting and cuts every connection the wire serves, upgraded ones included (handed-over ones are not its own). */
  close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    const server = this.#server;
    const stopped = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of this.#connections) connection.socket.destroy();
    this.#connections.clear();
    return stopped;
  }
}
