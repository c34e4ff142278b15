import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Authorizer } from './authorizer.js';
import { httpProxy } from './http-proxy.js';
import { createGatewayLogger } from './logger.js';
import { RouteCache } from './route-cache.js';
import type { RouteSource } from './route-source.js';
import { TokenVerifier } from './token-verifier.js';
import { UpstreamPools, type UpstreamTimeouts } from './upstream-pools.js';
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
  /** How long a route answer is reused (ms); bounds how late a rotation or disable is seen. Default 500. */
  routeCacheMs?: number;
  /** Verified tokens remembered. Default 10 000. */
  tokenCacheSize?: number;
}

export interface Gateway {
  /** Starts listening; resolves to the base URL (`http://127.0.0.1:PORT`). */
  listen(host: string, port: number): Promise<string>;
  /** Stops accepting, cuts open connections and tunnels, closes the upstream pools. */
  close(): Promise<void>;
}

/** Builds the gateway: verifies gateway JWTs and streams each request to its workspace's agent. */
export function createGateway(options: GatewayOptions): Gateway {
  const log = options.logger ?? createGatewayLogger();
  const tokens = new TokenVerifier({ secret: options.secret, ...(options.tokenCacheSize ? { cacheSize: options.tokenCacheSize } : {}) });
  const routes = new RouteCache(options.routes, options.routeCacheMs ?? 500);
  const authorizer = new Authorizer(tokens, routes);
  const pools = new UpstreamPools(options.upstreamTimeouts);
  const tunnels = new Set<Duplex>();

  const server = http.createServer(
    {
      // Uploads and downloads may take as long as they need; only a slow header section is cut.
      requestTimeout: 0,
      headersTimeout: 60_000,
      keepAliveTimeout: 65_000,
      noDelay: true,
    },
    httpProxy({ authorizer, pools, log, allowedOrigins: options.allowedOrigins ?? [] }),
  );
  server.on('upgrade', wsProxy({ authorizer, pools, log, allowedOrigins: options.allowedOrigins ?? [], tunnels }));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  let closed = false;
  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          const actualPort = typeof address === 'object' && address ? address.port : port;
          const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
          resolve(`http://${shownHost}:${actualPort}`);
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
      await Promise.all([stopped, pools.close()]);
      tokens.clear();
      routes.clear();
    },
  };
}
