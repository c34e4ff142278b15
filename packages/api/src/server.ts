import { createJsonApp, listenUrl, serveOpenApi } from '@cove/http';
import { HealthResponse, SERVER_DEFAULTS, SESSION_TOKEN_TTL_SECONDS, type WorkspaceDriver } from '@cove/protocol';
import type { Logger } from 'pino';
import { loadGatewaySecret } from './auth/gateway-jwt.js';
import type { ApiApp } from './http/app-types.js';
import { installAuth } from './http/auth-hook.js';
import { createApiLogger } from './logger.js';
import { accessRoutes } from './routes/access-routes.js';
import { networkRoutes } from './routes/network-routes.js';
import { publicAccessRoutes } from './routes/public-access-routes.js';
import { workspacesRoutes } from './routes/workspaces-routes.js';
import { type ControlContext, createContext, type Limits, type PublicUrls } from './service/context.js';
import { checkPreviewDomain } from './service/public-slugs.js';
import { recover } from './service/workspaces.js';
import type { Store } from './store/store.js';

export const API_VERSION = '0.1.0';

export interface ControlPlaneOptions {
  store: Store;
  driver: WorkspaceDriver;
  logger?: Logger;
  limits?: Partial<Limits>;
  /** Largest JSON request body, in bytes. */
  bodyLimit?: number;
  /** The domain public port URLs live under (default `localhost`: `*.localhost` resolves to loopback). */
  previewDomain?: string;
  /** The gateway's public URL, whose scheme and port public port URLs take (default `http://127.0.0.1:9080`). */
  gatewayUrl?: string;
  /** Restart workspaces that were running before (default true). */
  recover?: boolean;
}

export interface ControlPlane {
  readonly app: ApiApp;
  readonly context: ControlContext;
  /** Starts listening; resolves to the base URL. */
  listen(host: string, port: number): Promise<string>;
  /** Stops serving and stops every workspace the driver runs. The store is left open (its owner closes it). */
  close(): Promise<void>;
}

/** Builds the control plane: workspaces, Internal API access and network settings over HTTP. */
export async function createControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const log = options.logger ?? createApiLogger();
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const context = createContext({
    store: options.store,
    driver: options.driver,
    jwtSecret: await loadGatewaySecret(options.store),
    log,
    limits: {
      maxWorkspaces: options.limits?.maxWorkspaces ?? SERVER_DEFAULTS.maxWorkspaces,
      sessionTokenTtlSeconds: options.limits?.sessionTokenTtlSeconds ?? SESSION_TOKEN_TTL_SECONDS,
    },
    publicUrls: publicUrls(options),
  });

  const app = (await createJsonApp({
    logger: log,
    bodyLimit,
    maxParamLength: 256,
    openapi: {
      title: 'Cove control plane API',
      version: API_VERSION,
      securitySchemes: {
        clientId: { type: 'apiKey', in: 'header', name: 'X-Client-ID' },
        clientSecret: { type: 'apiKey', in: 'header', name: 'X-Client-Secret' },
      },
      security: [{ clientId: [], clientSecret: [] }],
    },
  })) as ApiApp;
  installAuth(app, options.store);
  app.get(
    '/health',
    { config: { public: true }, schema: { tags: ['health'], security: [], response: { 200: HealthResponse } } },
    async () => ({
      status: 'ok' as const,
    }),
  );
  workspacesRoutes(app, context);
  accessRoutes(app, context);
  networkRoutes(app, context);
  publicAccessRoutes(app, context);
  serveOpenApi(app, { public: true });

  await app.ready();
  if (options.recover !== false) {
    const { started, failed } = await recover(context);
    if (started + failed > 0) log.info({ started, failed }, 'restored running workspaces');
  }

  let closed = false;
  return {
    app,
    context,
    async listen(host, port) {
      await app.listen({ host, port });
      return listenUrl(app, host, port);
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await options.driver.shutdown();
    },
  };
}

/** Checks the public URL settings once, at start: a bad one is a configuration error, not a 500 per request. */
function publicUrls(options: ControlPlaneOptions): PublicUrls {
  const previewDomain = checkPreviewDomain(options.previewDomain ?? SERVER_DEFAULTS.previewDomain);
  const raw = options.gatewayUrl ?? `http://${SERVER_DEFAULTS.gatewayListen}`;
  let gatewayUrl: URL;
  try {
    gatewayUrl = new URL(raw);
  } catch {
    throw new Error(`invalid gateway URL '${raw}'`);
  }
  if (gatewayUrl.protocol !== 'http:' && gatewayUrl.protocol !== 'https:') throw new Error(`invalid gateway URL '${raw}': not http(s)`);
  return { previewDomain, gatewayUrl };
}
