import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { appProxyOf } from '../proxy/index.js';

/** The path the control plane asks; its own requests are not use of the workspace. */
export const ACTIVITY_PATH = '/activity';

/**
 * Counts what uses the agent, at the node server's level so that every request is seen — the JSON API, `/proxy`
 * (apps, public port URLs) and upgrades (`/ws`, proxied WebSockets) alike. Per request it costs a clock read and
 * a counter, nothing is written anywhere: the control plane asks for the summary only when an idle deadline
 * comes (see docs/decisions.md, "Lifecycle").
 */
export class UseTracker {
  #inFlight = 0;
  #sockets = 0;
  #last = Date.now();

  /** Listens before every other listener (the proxy's and Fastify's), whatever was installed first. */
  install(server: Server): void {
    const ended = (): void => {
      this.#inFlight--;
      this.#last = Date.now();
    };
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === ACTIVITY_PATH) return;
      this.#inFlight++;
      this.#last = Date.now();
      res.once('close', ended);
    });
    // `/proxy` requests the wire relays never reach node:http's `request` event: the proxy tells of them.
    appProxyOf(server)?.trackUse({
      begin: () => {
        this.#inFlight++;
        this.#last = Date.now();
      },
      end: ended,
    });
    const closed = (): void => {
      this.#sockets--;
      this.#last = Date.now();
    };
    server.prependListener('upgrade', (_req: IncomingMessage, socket: Duplex) => {
      this.#sockets++;
      this.#last = Date.now();
      socket.once('close', closed);
    });
  }

  get requestsInFlight(): number {
    return this.#inFlight;
  }

  get websockets(): number {
    return this.#sockets;
  }

  /** Milliseconds since the last request or WebSocket ended; 0 while one is open. */
  idleMs(now = Date.now()): number {
    return this.#inFlight > 0 || this.#sockets > 0 ? 0 : Math.max(0, now - this.#last);
  }
}
