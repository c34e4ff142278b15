import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createJsonApp, listenUrl, sendError, serveOpenApi } from '@cove/http';
import { AppError, bearerToken } from '@cove/protocol';
import type { Logger } from 'pino';
import { type TokenSource, TokenStore } from './auth/token-store.js';
import type { AgentApp, AgentContext, Domain } from './context.js';
import { closeControlSocket, listenControlSocket } from './control-socket.js';
import { DOMAINS } from './domains.js';
import { ProcessDefaults } from './identity/process-defaults.js';
import { createLogger } from './logger.js';
import { AppProxy } from './proxy/index.js';
import { AGENT_VERSION } from './version.js';
import { rejectUpgrade, WsHub, type WsHubOptions } from './ws/hub.js';
import { upgradeRequestId } from './ws/upgrade-auth.js';

export interface AgentOptions {
  /** Where the bearer token comes from. */
  token: TokenSource;
  /** Working directory: relative paths resolve here and commands start here. */
  workdir: string;
  /** A logger; defaults to pino on stdout at COVE_LOG_LEVEL (info). */
  logger?: Logger;
  /** Extra origins allowed to open `/ws` from a browser. */
  allowedOrigins?: readonly string[];
  /** `/ws` flow-control limits (frame size, send-queue limits, stall timeout). */
  ws?: Pick<WsHubOptions, 'maxPayload' | 'highWaterBytes' | 'maxBufferedBytes' | 'stallTimeoutMs'>;
  /** Largest JSON request body, in bytes. */
  bodyLimit?: number;
  /** The environment and user of commands and terminals (default: the agent's own). */
  processes?: ProcessDefaults;
  /**
   * The agent's own directory (workload definitions, the command log, the control socket). Absent: a fresh
   * temporary one, removed on close (nothing then survives the agent).
   */
  stateDir?: string;
  /** Serve the API on `<stateDir>/agent.sock` too once listening (default true). */
  controlSocket?: boolean;
  /** Domains to register instead of the default set (tests). */
  domains?: readonly Domain[];
}

export interface Agent {
  readonly app: AgentApp;
  readonly hub: WsHub;
  readonly tokens: TokenStore;
  readonly context: AgentContext;
  /** `/proxy`: the workspace's loopback apps. */
  readonly proxy: AppProxy;
  /** Starts listening; resolves to the base URL (`http://127.0.0.1:PORT`). */
  listen(host: string, port: number): Promise<string>;
  /** Stops accepting connections, closes WebSockets and runs every domain's cleanup. */
  close(): Promise<void>;
}

/** Builds the agent: the Internal API server of one workspace. */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  const log = options.logger ?? createLogger();
  const tokens = new TokenStore(options.token);
  const bodyLimit = options.bodyLimit ?? 64 * 1024 * 1024;
  const hub = new WsHub({ ...options.ws, tokens, log, ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}) });
  const cleanups: Array<() => void | Promise<void>> = [];

  const app = (await createJsonApp({
    logger: log,
    bodyLimit,
    maxParamLength: 1024,
    openapi: {
      title: 'Cove agent Internal API',
      version: AGENT_VERSION,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      security: [{ bearer: [] }],
    },
  })) as AgentApp;

  app.addHook('onRequest', async (request, reply) => {
    if ((request.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    if (!tokens.verify(bearerToken(request.headers.authorization))) {
      return sendError(reply, new AppError('unauthorized', 'missing or invalid token'));
    }
  });

  // Without a state directory, a temporary one is named but made only when a workload needs it (the command
  // log is then kept in memory), so that an agent killed without its cleanup leaves nothing behind.
  const ownStateDir =
    options.stateDir === undefined
      ? path.join(os.tmpdir(), `cove-agent-state-${process.pid}-${randomBytes(6).toString('hex')}`)
      : undefined;
  const stateDir = options.stateDir ?? (ownStateDir as string);
  // Root's only: it holds workload definitions (their environments) and the logs of every command.
  if (ownStateDir === undefined) await mkdir(stateDir, { recursive: true, mode: 0o700 });

  const context: AgentContext = {
    workdir: options.workdir,
    stateDir,
    stateIsTemporary: ownStateDir !== undefined,
    processes: options.processes ?? new ProcessDefaults(),
    tokens,
    log,
    hub,
    onClose: (fn) => {
      cleanups.push(fn);
    },
  };

  for (const domain of options.domains ?? DOMAINS) await domain(app, context);

  serveOpenApi(app);

  let ownPort: number | undefined;
  // `/proxy` is served beside Fastify, not through it, so proxied bodies stream untouched (see proxy/index.ts).
  const proxy = new AppProxy({
    tokens,
    log,
    ownPort: () => {
      // Asked on every proxied request: read once the server listens (it never moves).
      if (ownPort === undefined) {
        const address = app.server.address();
        if (typeof address === 'object' && address) ownPort = address.port;
      }
      return ownPort;
    },
  });
  proxy.install(app.server);

  app.server.on('upgrade', (request, socket, head) => {
    const pathname = (request.url ?? '/').split('?', 1)[0];
    if (pathname === '/ws' || pathname === '/runtimes/default/ws') hub.handleUpgrade(request, socket, head);
    else if (proxy.claimsUpgrade(request)) proxy.handleUpgrade(request, socket, head);
    else rejectUpgrade(socket, 404, 'not_found', `no WebSocket endpoint at ${pathname}`, upgradeRequestId(request));
  });

  await app.ready();

  let controlServer: Awaited<ReturnType<typeof listenControlSocket>>;
  let closed = false;
  return {
    app,
    hub,
    tokens,
    context,
    proxy,
    async listen(host, port) {
      await app.listen({ host, port });
      if (options.controlSocket !== false && ownStateDir === undefined) controlServer = await listenControlSocket(app, stateDir, log);
      return listenUrl(app, host, port);
    },
    async close() {
      if (closed) return;
      closed = true;
      hub.close();
      proxy.close();
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (err) {
          log.error({ err }, 'cleanup failed');
        }
      }
      await closeControlSocket(controlServer);
      await app.close();
      if (ownStateDir !== undefined) await rm(ownStateDir, { recursive: true, force: true });
    },
  };
}
