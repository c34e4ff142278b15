import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { internalWakeClient, loadGatewaySecret, type Store, wakingRoutes } from '@cove/api';
import { createGateway, createGatewayLogger, StaticRouteSource } from '@cove/gateway';
import type { RouteSource } from '@cove/protocol';
import { Command, Option } from 'commander';
import { CliError } from '../cli-error.js';
import { parseListen } from '../listen-address.js';
import { type Resolved, Settings, settingOption } from '../resolve-setting.js';
import { SETTINGS } from '../settings.js';
import { untilStopped } from '../stop-signals.js';
import { openControlPlaneStore, withStoreOptions } from '../store-options.js';

/** `cove gateway`: the public entry that routes gateway JWTs to workspace agents. */
export function gatewayCommand(): Command {
  return withStoreOptions(
    new Command('gateway')
      .description('Run the gateway (routes gateway JWTs to workspace agents)')
      .addOption(settingOption(SETTINGS.gatewayListen, '--listen <host:port>')),
  )
    .addOption(settingOption(SETTINGS.routesFile, '--routes-file <path>'))
    .addOption(settingOption(SETTINGS.secretFile, '--secret-file <path>'))
    .addOption(
      new Option(
        '--api-url <url>',
        `the control plane's URL: requests for sleeping workspaces wake them through it (env: ${SETTINGS.apiUrl.env}; unset, they are answered 503)`,
      ),
    )
    .addOption(settingOption(SETTINGS.allowOrigin, '--allow-origin <origin...>'))
    .addOption(settingOption(SETTINGS.previewDomain, '--preview-domain <domain>'))
    .addOption(settingOption(SETTINGS.connectTimeout, '--connect-timeout <ms>'))
    .addOption(settingOption(SETTINGS.headersTimeout, '--headers-timeout <ms>'))
    .addOption(new Option('--secret <secret>').hideHelp())
    .addHelpText(
      'after',
      `
Each setting: its flag, else its environment variable, else its key in
<data-dir>/config.json, else the default; \`cove up\` reads the same ones. The JWT secret comes from the control plane's
store (the same --data-dir or --database-url as \`cove api\`), or from
COVE_GATEWAY_SECRET or --secret-file, never from the command line.

Examples:
  cove gateway --listen 0.0.0.0:9080 --data-dir ~/.cove
  COVE_DATABASE_URL=postgres://cove@db/cove cove gateway --store postgres --api-url http://api:9070
  COVE_GATEWAY_SECRET=... cove gateway --routes-file routes.json`,
    )
    .action(async (flags: { secret?: string }, command: Command) => {
      if (flags.secret !== undefined) {
        throw new CliError(
          '--secret is not accepted: command lines are visible to every user; use COVE_GATEWAY_SECRET or --secret-file',
          2,
        );
      }
      await runGateway(new Settings(command));
    });
}

async function runGateway(settings: Settings): Promise<void> {
  const listen = settings.get(SETTINGS.gatewayListen, 'listen');
  const { host, port } = parseListen(listen.value, listen.origin);
  const upstreamTimeouts = {
    connectMs: positive(settings.get(SETTINGS.connectTimeout, 'connectTimeout')),
    headersMs: positive(settings.get(SETTINGS.headersTimeout, 'headersTimeout')),
  };
  const routesFile = settings.value(SETTINGS.routesFile, 'routesFile');
  const explicitSecret = await secretFromEnvOrFile(settings.value(SETTINGS.secretFile, 'secretFile'));
  delete process.env.COVE_GATEWAY_SECRET;

  let routes: RouteSource;
  let store: Store | undefined;
  let staticRoutes: StaticRouteSource | undefined;
  if (routesFile) {
    if (!explicitSecret) throw new CliError('--routes-file needs the JWT secret in COVE_GATEWAY_SECRET or --secret-file', 2);
    try {
      staticRoutes = new StaticRouteSource(path.resolve(routesFile));
    } catch (err) {
      throw new CliError(`cannot read --routes-file: ${(err as Error).message}`, 2);
    }
    routes = staticRoutes;
  } else {
    store = await openControlPlaneStore(settings);
    routes = store;
  }
  const secret = explicitSecret ?? (store ? await loadGatewaySecret(store) : undefined);
  if (!secret) throw new CliError('no JWT secret', 2);
  // Wake on traffic from another process: the control plane's internal wake, signed with the shared secret.
  const apiUrl = settings.get(SETTINGS.apiUrl, 'apiUrl');
  let wakeVia: string | undefined;
  if (!store && apiUrl.source === 'flag') throw new CliError('--api-url wakes workspaces of a store; routes from a routes file cannot', 2);
  if (store && apiUrl.source !== 'default') {
    wakeVia = controlPlaneUrl(apiUrl.value, apiUrl.origin);
    routes = wakingRoutes(store, internalWakeClient(wakeVia, secret));
  }

  const log = createGatewayLogger();
  let gateway: ReturnType<typeof createGateway>;
  try {
    gateway = createGateway({
      routes,
      secret,
      logger: log,
      allowedOrigins: settings.value(SETTINGS.allowOrigin, 'allowOrigin'),
      previewDomain: settings.value(SETTINGS.previewDomain, 'previewDomain') as string,
      upstreamTimeouts,
    });
  } catch (err) {
    await store?.close();
    throw new CliError((err as Error).message, 2);
  }
  const url = await gateway.listen(host, port).catch(async (err: NodeJS.ErrnoException) => {
    await store?.close();
    throw new CliError(`cannot listen on ${listen.value}: ${err.code ?? err.message}`, 1);
  });
  process.on('SIGHUP', () => {
    if (!staticRoutes) return;
    try {
      staticRoutes.reload();
      log.info('routes reloaded');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'routes reload failed; keeping the previous routes');
    }
  });

  const stopped = untilStopped(() =>
    gateway
      .close()
      .then(() => store?.close())
      .catch(() => undefined),
  );
  process.stdout.write(
    `cove gateway ready on ${url} (routes from ${routesFile ? 'a routes file' : `the ${settings.value(SETTINGS.store, 'store')} store`}${
      wakeVia ? `; wakes sleeping workspaces through ${wakeVia}` : ''
    })\n`,
  );
  await stopped;
}

function controlPlaneUrl(value: string, origin: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`invalid ${origin} '${value}': expected the control plane's URL (http://host:port)`, 2);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`invalid ${origin} '${value}': expected http or https`, 2);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function positive(setting: Resolved<string>): number {
  const n = Number(setting.value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new CliError(`invalid ${setting.origin} '${setting.value}': expected a positive number of milliseconds`, 2);
  }
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
