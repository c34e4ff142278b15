import { createJsonApp, listenUrl, serveOpenApi } from '@cove/http';
import { HealthResponse, type RouteSource, SERVER_DEFAULTS, SESSION_TOKEN_TTL_SECONDS, type WorkspaceDriver } from '@cove/protocol';
import type { Logger } from 'pino';
import { loadGatewaySecret } from './auth/gateway-jwt.js';
import type { ApiApp } from './http/app-types.js';
import { installAuth } from './http/auth-hook.js';
import { createApiLogger } from './logger.js';
import { accessRoutes } from './routes/access-routes.js';
import { archiveRoutes } from './routes/archive-routes.js';
import { type ConsoleRouteOptions, consoleRoutes } from './routes/console-routes.js';
import { imagesRoutes } from './routes/images-routes.js';
import { internalWakeRoutes } from './routes/internal-wake-routes.js';
import { lifecycleRoutes } from './routes/lifecycle-routes.js';
import { logsRoutes } from './routes/logs-routes.js';
import { metadataRoutes } from './routes/metadata-routes.js';
import { metricsRoutes } from './routes/metrics-routes.js';
import { networkRoutes } from './routes/network-routes.js';
import { provisioningRoutes } from './routes/provisioning-routes.js';
import { publicAccessRoutes } from './routes/public-access-routes.js';
import { resourcesRoutes } from './routes/resources-routes.js';
import { snapshotRoutes } from './routes/snapshot-routes.js';
import { workloadRoutes } from './routes/workload-routes.js';
import { workspacesRoutes } from './routes/workspaces-routes.js';
import type { UploadLimits } from './service/archive-uploads.js';
import { type ConsoleSessionOptions, ConsoleSessions } from './service/console-sessions.js';
import { type ControlContext, createContext, type Limits, type PublicUrls } from './service/context.js';
import { DEFAULT_IMPORT_LIMITS, type ImportLimits } from './service/image-import.js';
import { Lifecycle, type LifecycleOptions } from './service/lifecycle.js';
import { wakingRoutes } from './service/lifecycle-routes-source.js';
import { stopProvisioning } from './service/provisioning.js';
import { checkPreviewDomain } from './service/public-slugs.js';
import { reconcile } from './service/reconcile.js';
import { accountCaps } from './service/resources.js';
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
  /** TTLs, idle and restart policies: their timing knobs (tests shorten them). */
  lifecycle?: LifecycleOptions;
  /** Bearer token `GET /metrics` (Prometheus) requires; without one it answers loopback callers only. */
  metricsToken?: string | undefined;
  /** Accounts that may import and delete images, which every account shares (default `['default']`, the account `cove up` makes). */
  imageOperators?: readonly string[];
  /** Image archive uploads: largest size (default 16 GiB) and where they wait while imported (default the OS's). */
  imageImport?: Partial<ImportLimits>;
  /** Archive uploads (`POST /workspace/archives/upload`): largest size (16 GiB), where they wait (the OS's temp), how long (1 h). */
  archiveUpload?: Partial<UploadLimits>;
  /** The web console at `/console` (default on): its session timeouts and where its files are; `false` turns it off. */
  console?: (ConsoleSessionOptions & ConsoleRouteOptions) | false;
}

export interface ControlPlane {
  readonly app: ApiApp;
  readonly context: ControlContext;
  /** TTLs, idle policies, wake on traffic, restart policies. */
  readonly lifecycle: Lifecycle;
  /** The gateway's route source: the store's routes, plus waking sleeping workspaces (same process). */
  readonly routes: RouteSource;
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
      ...accountCaps(options.limits),
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
  const consoleSessions = options.console === false ? undefined : new ConsoleSessions(options.console);
  installAuth(app, options.store, consoleSessions?.authenticator(options.store));
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
  metricsRoutes(app, context, { metricsToken: options.metricsToken });
  metadataRoutes(app, context);
  resourcesRoutes(app, context);
  imagesRoutes(app, context, {
    operators: options.imageOperators ?? ['default'],
    import: { ...DEFAULT_IMPORT_LIMITS, ...options.imageImport },
  });
  provisioningRoutes(app, context);
  snapshotRoutes(app, context);
  archiveRoutes(app, context, { upload: options.archiveUpload ?? {} });
  const workloadExits = workloadRoutes(app, context);
  logsRoutes(app, context);
  const lifecycle = new Lifecycle(context, options.lifecycle);
  lifecycleRoutes(app, lifecycle);
  internalWakeRoutes(app, lifecycle, context.jwtSecret);
  if (consoleSessions) consoleRoutes(app, context, consoleSessions, options.console || {});
  serveOpenApi(app, { public: true });

  await app.ready();
  // Before anything is restored or served: a workspace a crash left half-made is finished or removed (reconcile.ts).
  await reconcile(context);
  if (options.recover !== false) {
    const { started, failed } = await recover(context);
    if (started + failed > 0) log.info({ started, failed }, 'restored running workspaces');
  }
  // After the restore: what fell due while the control plane was down happens now.
  await lifecycle.start();
  // Workloads whose end should stop their workspace (vm_on_exit) are followed again; in the background.
  void workloadExits.start().catch((err: Error) => log.warn({ err: err.message }, 'could not follow workloads'));

  let closed = false;
  return {
    app,
    context,
    lifecycle,
    routes: wakingRoutes(options.store, (id) => lifecycle.wake(id)),
    async listen(host, port) {
      await app.listen({ host, port });
      return listenUrl(app, host, port);
    },
    async close() {
      if (closed) return;
      closed = true;
      lifecycle.close();
      workloadExits.close();
      await stopProvisioning(options.driver);
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
