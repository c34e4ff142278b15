import net, { type Socket } from 'node:net';
import { DownstreamConnection, type WireHandlers, type WireTimeouts } from './downstream-connection.js';

/** A TCP server speaking HTTP/1.1 through `DownstreamConnection`s. */
export class WireServer {
  readonly #server: net.Server;
  readonly #sockets = new Set<Socket>();

  constructor(handlers: WireHandlers, timeouts: Partial<WireTimeouts> = {}) {
    const resolved: WireTimeouts = { headersMs: timeouts.headersMs ?? 60_000, keepAliveMs: timeouts.keepAliveMs ?? 65_000 };
    // allowHalfOpen: a caller that ends its side after sending a request still gets the answer.
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      new DownstreamConnection(socket, handlers, resolved);
    });
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
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    return stopped;
  }
}
