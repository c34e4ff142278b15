import type { RouteSource } from '@cove/protocol';
import type { WireTimeouts } from '@cove/wire';
import { UpstreamPools, type UpstreamTimeouts, WireServer } from '@cove/wire';
import type { Logger } from 'pino';
import { Authorizer } from './authorizer.js';
import { downstreamResponseHeaders } from './forward-headers.js';
import { httpProxy } from './http-proxy.js';
import { createGatewayLogger } from './logger.js';
import { PreviewHosts } from './preview-host.js';
import { PublicPorts } from './public-ports.js';
import { RelayWatch } from './relay-watch.js';
import { Relays } from './relays.js';
import { PublicPortCache, RouteCache } from './route-cache.js';
import { TokenVerifier } from './token-verifier.js';
import { upstreamError } from './upstream-errors.js';
import { Waker } from './wake.js';
import { wsProxy } from './ws-proxy.js';

export interface GatewayOptions {
  /** Where workspaces' current addresses, raw tokens and states come from (the control plane's store). */
  routes: RouteSource;
  /** The HS256 secret shared with the control plane that mints gateway JWTs (≥ 32 bytes). */
  secret: Uint8Array | string;
  logger?: Logger;
  /** Browser origins allowed to call the gateway (CORS) and open WebSockets, besides its own host (`*` for any). */
  allowedOrigins?: readonly string[];
  upstreamTimeouts?: UpstreamTimeouts;
  /** Limits on callers' connections: a request head must arrive within `headersMs` (60 s), an idle connection closes after `keepAliveMs` (65 s). */
  callerTimeouts?: Partial<WireTimeouts>;
  /** How long a route answer is reused (ms); bounds how late a rotation or disable is seen. Default 500. */
  routeCacheMs?: number;
  /** Verified tokens remembered. Default 10 000. */
  tokenCacheSize?: number;
  /**
   * Exposed ports are served at `<slug>.<previewDomain>` (any port). Default `localhost`: browsers and curl
   * resolve `*.localhost` to loopback.
   */
  previewDomain?: string;
  /** How long a request for a sleeping workspace is held while it wakes (ms) before a 503 `wake_timeout`. Default 30 000. */
  wakeTimeoutMs?: number;
  /**
   * How often the routes of workspaces with relayed connections are checked (ms), to end those of a workspace
   * gone without a word (see RelayWatch). Default 1000.
   */
  relayCheckMs?: number;
}

export interface Gateway {
  /** Starts listening; resolves to the base URL (`http://127.0.0.1:PORT`). */
  listen(host: string, port: number): Promise<string>;
  /**
   * Told that a workspace's agent exited (by a control plane in the same process, from its driver's `watch`):
   * its open WebSockets get a close frame (1011) and its HTTP streams are cut now. A gateway in another process
   * learns the same from the workspace's route within about a second (see RelayWatch).
   */
  agentExited(workspaceId: string): void;
  /**
   * Told that a workspace's route changed (paused, stopped, started, woken, removed, its token or access
   * changed) by a control plane in the same process (`@cove/api`'s `withRouteChanges`): its cached route is
   * dropped, so the next request sees the change at once. A gateway in another process sees it within
   * `routeCacheMs`.
   */
  routeChanged(workspaceId: string): void;
  /** Stops accepting, cuts open connections and tunnels, closes the upstream pools. */
  close(): Promise<void>;
}

/** Builds the gateway: verifies gateway JWTs and streams each request to its workspace's agent. */
export function createGateway(options: GatewayOptions): Gateway {
  const log = options.logger ?? createGatewayLogger();
  const tokens = new TokenVerifier({ secret: options.secret, ...(options.tokenCacheSize ? { cacheSize: options.tokenCacheSize } : {}) });
  const routes = new RouteCache(options.routes, options.routeCacheMs ?? 500);
  const waker = Waker.for(options.routes, routes, options.wakeTimeoutMs ?? 30_000, log);
  const authorizer = new Authorizer(tokens, routes, waker);
  const pools = new UpstreamPools({
    ...options.upstreamTimeouts,
    responseHeaders: downstreamResponseHeaders,
    upstreamError,
    onFailure: (error, cause, reqId) =>
      log.warn({ code: error.code, cause: (cause as { code?: string }).code ?? cause.message, reqId }, 'upstream request failed'),
  });
  const relays = new Relays(pools);
  const relayWatch = new RelayWatch(relays, routes, log, options.relayCheckMs ?? 1000);
  const allowedOrigins = options.allowedOrigins ?? [];
  const publicPorts = new PublicPorts({
    hosts: new PreviewHosts(options.previewDomain ?? 'localhost'),
    ports: new PublicPortCache(options.routes, options.routeCacheMs ?? 500),
    routes,
    pools,
    log,
    relays,
    waker,
  });

  // Uploads, downloads and streams take as long as they need: only a slow request head or an idle connection is cut.
  const server = new WireServer(
    {
      request: httpProxy({ authorizer, pools, log, allowedOrigins, publicPorts, relays }),
      upgrade: wsProxy({ authorizer, pools, log, allowedOrigins, relays, publicPorts }),
    },
    options.callerTimeouts,
  );

  let closed = false;
  return {
    async listen(host, port) {
      const actualPort = await server.listen(host, port);
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      return `http://${shownHost}:${actualPort}`;
    },
    agentExited(workspaceId) {
      if (closed) return;
      const count = relays.cut(workspaceId, 'exited');
      if (count > 0) log.info({ workspace: workspaceId, reason: 'exited', cut: count }, 'relayed connections of a workspace ended');
    },
    routeChanged(workspaceId) {
      routes.drop(workspaceId);
    },
    async close() {
      if (closed) return;
      closed = true;
      const stopped = server.close();
      publicPorts.close();
      relayWatch.close();
      relays.destroyAll();
      pools.close();
      await stopped;
      tokens.clear();
      routes.clear();
    },
  };
}
