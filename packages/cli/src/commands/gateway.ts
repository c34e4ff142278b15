import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadGatewaySecret, openStore, type Store, sqliteFile } from '@cove/api';
import { createGateway, createGatewayLogger, type RouteSource, StaticRouteSource } from '@cove/gateway';
import { Command, Option } from 'commander';
import { CliError } from '../cli-error.js';
import { parseListen } from '../listen-address.js';

interface GatewayFlags {
  listen: string;
  dataDir: string;
  store: 'sqlite' | 'postgres';
  databaseUrl?: string;
  routesFile?: string;
  secretFile?: string;
  allowOrigin: string[];
  connectTimeout: string;
  headersTimeout: string;
}

/** `cove gateway`: the public entry that routes gateway JWTs to workspace agents. */
export function gatewayCommand(): Command {
  return new Command('gateway')
    .description('Run the gateway (routes gateway JWTs to workspace agents)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8081')
    .option('--data-dir <dir>', "where the control plane's SQLite store lives", path.join(os.homedir(), '.cove'))
    .addOption(new Option('--store <kind>', "the control plane's store").choices(['sqlite', 'postgres']).default('sqlite'))
    .option('--database-url <url>', 'PostgreSQL URL (prefer COVE_DATABASE_URL: command lines are visible to every user)')
    .option('--routes-file <path>', 'route from a JSON file instead of a store ({"workspaces":[…]}, re-read on SIGHUP)')
    .option('--secret-file <path>', "file holding the JWT secret (base64url); default: the store's, shared with the control plane")
    .option('--allow-origin <origin...>', 'browser origins allowed to call the gateway (CORS) and open WebSockets besides its host', [])
    .option('--connect-timeout <ms>', 'time to connect to an agent before answering 504', '5000')
    .option('--headers-timeout <ms>', "time to wait for an agent's response headers before answering 504", '300000')
    .addOption(new Option('--secret <secret>').hideHelp())
    .addHelpText(
      'after',
      `
The JWT secret comes from the control plane's store (the same --data-dir or
--database-url as \`cove api\`), or from COVE_GATEWAY_SECRET or --secret-file,
never from the command line.

Examples:
  cove gateway --listen 0.0.0.0:8081 --data-dir ~/.cove
  COVE_DATABASE_URL=postgres://cove@db/cove cove gateway --store postgres
  COVE_GATEWAY_SECRET=... cove gateway --routes-file routes.json`,
    )
    .action(async (flags: GatewayFlags & { secret?: string }) => {
      if (flags.secret !== undefined) {
        throw new CliError(
          '--secret is not accepted: command lines are visible to every user; use COVE_GATEWAY_SECRET or --secret-file',
          2,
        );
      }
      await runGateway(flags);
    });
}

async function runGateway(flags: GatewayFlags): Promise<void> {
  const { host, port } = parseListen(flags.listen);
  const upstreamTimeouts = {
    connectMs: positive(flags.connectTimeout, '--connect-timeout'),
    headersMs: positive(flags.headersTimeout, '--headers-timeout'),
  };
  const explicitSecret = await secretFromEnvOrFile(flags.secretFile);
  delete process.env.COVE_GATEWAY_SECRET;

  let routes: RouteSource;
  let store: Store | undefined;
  let staticRoutes: StaticRouteSource | undefined;
  if (flags.routesFile) {
    if (!explicitSecret) throw new CliError('--routes-file needs the JWT secret in COVE_GATEWAY_SECRET or --secret-file', 2);
    try {
      staticRoutes = new StaticRouteSource(path.resolve(flags.routesFile));
    } catch (err) {
      throw new CliError(`cannot read --routes-file: ${(err as Error).message}`, 2);
    }
    routes = staticRoutes;
  } else {
    store = await openControlPlaneStore(flags);
    routes = store;
  }
  const secret = explicitSecret ?? (store ? await loadGatewaySecret(store) : undefined);
  if (!secret) throw new CliError('no JWT secret', 2);

  const log = createGatewayLogger();
  let gateway: ReturnType<typeof createGateway>;
  try {
    gateway = createGateway({ routes, secret, logger: log, allowedOrigins: flags.allowOrigin, upstreamTimeouts });
  } catch (err) {
    await store?.close();
    throw new CliError((err as Error).message, 2);
  }
  const url = await gateway.listen(host, port).catch(async (err: NodeJS.ErrnoException) => {
    await store?.close();
    throw new CliError(`cannot listen on ${flags.listen}: ${err.code ?? err.message}`, 1);
  });
  process.stdout.write(`cove gateway ready on ${url} (routes from ${flags.routesFile ? 'a routes file' : `the ${flags.store} store`})\n`);

  process.on('SIGHUP', () => {
    if (!staticRoutes) return;
    try {
      staticRoutes.reload();
      log.info('routes reloaded');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'routes reload failed; keeping the previous routes');
    }
  });

  await new Promise<void>((resolve) => {
    const stop = () => {
      gateway
        .close()
        .then(() => store?.close())
        .then(resolve, resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`invalid ${flag} '${value}': expected a positive number of milliseconds`, 2);
  return n;
}

/** The secret as the control plane keeps it: base64url text of at least 32 bytes. */
async function secretFromEnvOrFile(file: string | undefined): Promise<Uint8Array | undefined> {
  let text: string | undefined;
  if (file) {
    try {
      text = (await readFile(path.resolve(file), 'utf8')).trim();
    } catch (err) {
      throw new CliError(`cannot read --secret-file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 2);
    }
  } else {
    text = process.env.COVE_GATEWAY_SECRET?.trim();
  }
  if (text === undefined || text === '') return undefined;
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(text)) throw new CliError('the JWT secret must be base64url text (as the control plane stores it)', 2);
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  if (bytes.byteLength < 32) throw new CliError('the JWT secret must decode to at least 32 bytes', 2);
  return bytes;
}

/** The same store `cove api` uses (same flags and defaults). */
async function openControlPlaneStore(flags: GatewayFlags): Promise<Store> {
  try {
    if (flags.store === 'postgres') {
      const url = flags.databaseUrl ?? process.env.COVE_DATABASE_URL;
      if (!url) throw new CliError('--store postgres needs --database-url or COVE_DATABASE_URL', 2);
      return await openStore({ kind: 'postgres', url });
    }
    const dataDir = path.resolve(flags.dataDir);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    return await openStore({ kind: 'sqlite', file: sqliteFile(dataDir) });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot open the ${flags.store} store: ${(err as Error).message}`, 1);
  }
}
