import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, bearerToken, offeredProtocols, redactUrl, requestIdFrom } from '@cove/protocol';
import type { Logger } from 'pino';
import type { TokenStore } from '../auth/token-store.js';
import { upgradeRequestId, upgradeToken } from '../ws/upgrade-auth.js';
import { relayHttp } from './http-relay.js';
import { writeProxyError, writeUpgradeError } from './proxy-errors.js';
import { type ProxyRoute, proxyRemainder, resolveProxyRoute, TARGET_HEADER } from './proxy-request.js';
import type { ForbiddenPorts } from './proxy-target.js';
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

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * `/proxy`: the workspace's loopback apps, reached through the agent
 * (`rt.proxy(port)` in the SDKs, public port URLs through the gateway).
 *
 * It sits in front of Fastify on the node server's `request` event, so a
 * proxied body is never parsed, buffered or size-limited by the JSON app, and
 * a proxied request costs no routing, hooks or validation: authentication
 * (the bearer token), the request id and the error body are done here the
 * way the app does them. Every other request goes to Fastify untouched.
 */
export class AppProxy {
  readonly #opts: AppProxyOptions;
  /** Kept-alive connections to apps, reused across requests (LIFO, so idle ones age out). */
  readonly #pool = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' });
  /** Live upgraded pairs (caller and app sockets), cut when the agent closes. */
  readonly #tunnels = new Set<Duplex>();
  readonly #forbidden: ForbiddenPorts;

  constructor(options: AppProxyOptions) {
    this.#opts = options;
    this.#forbidden = { has: (port) => port === INTERNAL_API_PORT || port === options.ownPort() };
  }

  /** Puts the proxy in front of the server's existing `request` listeners (Fastify's). */
  install(server: Server): void {
    const others = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const remainder = proxyRemainder(req.url);
      if (remainder !== undefined) this.#handle(req, res, remainder);
      else for (const listener of others) listener.call(server, req, res);
    });
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

  /** Cuts live tunnels and pooled connections (agent shutdown). */
  close(): void {
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
