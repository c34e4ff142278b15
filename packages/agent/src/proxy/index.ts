import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AppError, bearerToken, offeredProtocols, redactUrl, requestIdFrom } from '@cove/protocol';
import { answerAndClose, WireServer } from '@cove/wire';
import type { Logger } from 'pino';
import type { TokenStore } from '../auth/token-store.js';
import { upgradeRequestId, upgradeToken } from '../ws/upgrade-auth.js';
import { relayHttp } from './http-relay.js';
import { writeProxyError, writeUpgradeError } from './proxy-errors.js';
import { type ProxyRoute, proxyRemainder, resolveProxyRoute, TARGET_HEADER } from './proxy-request.js';
import type { ForbiddenPorts } from './proxy-target.js';
import { WireRelay } from './wire-relay.js';
import { relayUpgrade } from './ws-relay.js';

export { proxyRemainder };

/** The Internal API's documented port: never a proxy target, whatever port this agent listens on. */
const INTERNAL_API_PORT = 9990;

export interface AppProxyOptions {
  tokens: TokenStore;
  log: Logger;
  /** The port the agent listens on (known once it listens), refused as a target too. */
  ownPort: () => number | undefined;
}

/** Told of each `/proxy` request the wire serves (node:http's `request` event does not see them). */
export interface ProxyUse {
  begin(): void;
  /** The answer is complete, or the request was cut. */
  end(): void;
}

/** The proxy installed on a node server, for code that is given the server (the activity tracker). */
const installed = new WeakMap<Server, AppProxy>();
export function appProxyOf(server: Server): AppProxy | undefined {
  return installed.get(server);
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type ConnectionListener = (socket: Socket) => void;

/**
 * `/proxy`: the workspace's loopback apps, reached through the agent
 * (`rt.proxy(port)` in the SDKs, public port URLs through the gateway).
 *
 * Every connection the agent accepts is read first by the wire (`@cove/wire`,
 * llhttp on the raw socket): while its requests are for `/proxy` the wire
 * relays them (`WireRelay`) without node:http on either side. The first
 * request that is not (the JSON app's routes, WebSocket upgrades) hands the
 * whole connection to the node server, head and following bytes included,
 * for good. A `/proxy` request arriving later on such a connection is
 * relayed from node:http's `request` event (`relayHttp`), ahead of Fastify,
 * and upgrades to `/proxy` from its `upgrade` event (`relayUpgrade`). Either
 * way a proxied body is never parsed, buffered or size-limited by the JSON
 * app, and a proxied request costs no routing, hooks or validation:
 * authentication (the bearer token), the request id and the error body are
 * done here the way the app does them.
 */
export class AppProxy {
  readonly #opts: AppProxyOptions;
  /** `/proxy` on the wire. */
  readonly #relay: WireRelay;
  #wire: WireServer | undefined;
  #use: ProxyUse | undefined;
  /** For requests on node:http's connections: kept-alive connections to apps (LIFO, so idle ones age out). */
  readonly #pool = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' });
  /** Live upgraded pairs (caller and app sockets), cut when the agent closes. */
  readonly #tunnels = new Set<Duplex>();
  readonly #forbidden: ForbiddenPorts;

  constructor(options: AppProxyOptions) {
    this.#opts = options;
    this.#forbidden = { has: (port) => port === INTERNAL_API_PORT || port === options.ownPort() };
    this.#relay = new WireRelay({ tokens: options.tokens, log: options.log, forbidden: this.#forbidden });
  }

  /**
   * Puts the wire in front of the server's `connection` listener (node:http's
   * own), and the node:http relay in front of its `request` listeners
   * (Fastify's). Call before the server listens.
   */
  install(server: Server): void {
    const others = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const remainder = proxyRemainder(req.url);
      if (remainder !== undefined) this.#handle(req, res, remainder);
      else for (const listener of others) listener.call(server, req, res);
    });

    const accept = server.listeners('connection') as ConnectionListener[];
    server.removeAllListeners('connection');
    const wire = new WireServer(
      {
        request: (exchange) => {
          this.#use?.begin();
          this.#relay.handle(exchange, proxyRemainder(exchange.request.url) as string);
        },
        settled: () => this.#use?.end(),
        // Never called: upgrades are handed over (see `keeps`).
        upgrade: (request, socket) => answerAndClose(socket, new AppError('not_found', 'no such endpoint'), request.requestId),
      },
      // The node server's own limits, so a connection is treated alike whichever side serves it.
      { headersMs: server.headersTimeout || 60_000, keepAliveMs: server.keepAliveTimeout || 5_000 },
      {
        keeps: (request, upgrade) => !upgrade && proxyRemainder(request.url) !== undefined,
        take: (socket) => {
          for (const listener of accept) listener.call(server, socket);
        },
      },
    );
    server.on('connection', (socket: Socket) => wire.accept(socket));
    this.#wire = wire;
    installed.set(server, this);
  }

  /**
   * Counts the `/proxy` requests served on the wire as use of the workspace
   * (those relayed on node:http's connections are seen on its `request` and
   * `upgrade` events, as every other request is).
   */
  trackUse(use: ProxyUse): void {
    this.#use = use;
  }

  /** Whether an upgrade request is for the proxy. */
  claimsUpgrade(req: IncomingMessage): boolean {
    return proxyRemainder(req.url) !== undefined;
  }

  /** An upgrade to `/proxy…`: authenticated like `/ws` (header, `?token=`, subprotocol), then relayed. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const requestId = upgradeRequestId(req);
    const { tokens, log } = this.#opts;
    if (!tokens.verify(upgradeToken(req))) {
      log.debug({ url: redactUrl(req.url), reqId: requestId }, 'proxy upgrade refused: bad token');
      writeUpgradeError(socket, new AppError('unauthorized', 'missing or invalid token'), requestId);
      return;
    }
    const route = this.#route(req, (err) => writeUpgradeError(socket, err, requestId));
    if (!route) return;
    const offered = req.headers['sec-websocket-protocol'];
    const tokenProtocols = new Set(
      offeredProtocols(typeof offered === 'string' ? offered : undefined).filter((p) => p.startsWith('bearer.') || tokens.verify(p)),
    );
    log.debug({ url: redactUrl(req.url), reqId: requestId, target: route.target.label }, 'proxy upgrade');
    relayUpgrade(req, socket, head, route, requestId, tokenProtocols, this.#tunnels, log);
  }

  /** Cuts the wire's connections, live tunnels and pooled connections (agent shutdown). */
  close(): void {
    void this.#wire?.close();
    this.#relay.close();
    for (const socket of this.#tunnels) socket.destroy();
    this.#tunnels.clear();
    this.#pool.destroy();
  }

  #handle(req: IncomingMessage, res: ServerResponse, remainder: string): void {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const { tokens, log } = this.#opts;
    // Only the header authenticates plain HTTP, as everywhere on the agent: a token in a URL leaks into logs and histories.
    if (!tokens.verify(bearerToken(req.headers.authorization))) {
      writeProxyError(res, new AppError('unauthorized', 'missing or invalid token'), requestId);
      return;
    }
    const route = this.#route(req, (err) => writeProxyError(res, err, requestId), remainder);
    if (!route) return;
    if (log.isLevelEnabled('debug')) {
      log.debug({ method: req.method, url: redactUrl(req.url), reqId: requestId, target: route.target.label }, 'proxy request');
    }
    relayHttp(req, res, route, requestId, this.#pool, log);
  }

  #route(req: IncomingMessage, refuse: (err: AppError) => void, remainder = proxyRemainder(req.url)): ProxyRoute | undefined {
    try {
      return resolveProxyRoute(remainder ?? '', req.headers[TARGET_HEADER], this.#forbidden);
    } catch (err) {
      if (err instanceof AppError) refuse(err);
      else throw err;
      return undefined;
    }
  }
}
