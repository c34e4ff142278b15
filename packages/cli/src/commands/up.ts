import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createApiLogger,
  createControlPlane,
  createCredential,
  loadGatewaySecret,
  openStore,
  type Store,
  sqliteFile,
  wakingRoutes,
  withRouteChanges,
} from '@cove/api';
import { createGateway, createGatewayLogger } from '@cove/gateway';
import { AppError } from '@cove/protocol';
import { Command } from 'commander';
import { accountCapsOf } from '../account-caps.js';
import { CliError } from '../cli-error.js';
import { parseListen } from '../listen-address.js';
import { Settings, settingOption } from '../resolve-setting.js';
import { SETTINGS } from '../settings.js';
import { untilStopped } from '../stop-signals.js';
import { chooseDriver, openDriver, withDriverOptions } from '../workspace-driver.js';

/** What `credentials.json` holds (snake_case, as the API spells it; read by the CLI's user commands). */
interface CredentialsFile {
  client_id: string;
  client_secret: string;
  api_url: string;
  gateway_url: string;
}

/** `cove up`: the control plane, the gateway and a driver in one process on the embedded SQLite store. */
export function upCommand(): Command {
  const up = new Command('up')
    .description('Run everything on this machine: control plane, gateway and workspaces (SQLite store, no set-up)')
    .addOption(settingOption(SETTINGS.dataDir, '--data-dir <dir>'))
    .addOption(settingOption(SETTINGS.apiListen, '--api-listen <host:port>'))
    .addOption(settingOption(SETTINGS.gatewayListen, '--gateway-listen <host:port>'));
  return withDriverOptions(up)
    .addOption(settingOption(SETTINGS.maxWorkspaces, '--max-workspaces <n>'))
    .addOption(settingOption(SETTINGS.accountCpus, '--account-cpus <n>'))
    .addOption(settingOption(SETTINGS.accountMemoryMb, '--account-memory-mb <mib>'))
    .addOption(settingOption(SETTINGS.accountDiskMb, '--account-disk-mb <mib>'))
    .addOption(settingOption(SETTINGS.allowOrigin, '--allow-origin <origin...>'))
    .addOption(settingOption(SETTINGS.previewDomain, '--preview-domain <domain>'))
    .addHelpText(
      'after',
      `
Each setting: its flag, else its environment variable, else its key in
<data-dir>/config.json ({"api_listen": "0.0.0.0:9070"}), else the default. The first run creates a client credential and writes it,
with both URLs, to <data-dir>/credentials.json (mode 600); the \`cove\` user
commands and the quick start printed at startup read it from there.

Examples:
  sudo cove up                                   # sandbox driver (runc), ~/.cove
  cove up --driver process --data-dir /tmp/cove  # no isolation, any OS
  COVE_API_LISTEN=0.0.0.0:9070 cove up           # the same through the environment`,
    )
    .action(async (_flags: unknown, command: Command) => {
      await runUp(new Settings(command));
    });
}

async function runUp(settings: Settings): Promise<void> {
  const apiListen = settings.get(SETTINGS.apiListen, 'apiListen');
  const gatewayListen = settings.get(SETTINGS.gatewayListen, 'gatewayListen');
  const api = parseListen(apiListen.value, apiListen.origin);
  const gw = parseListen(gatewayListen.value, gatewayListen.origin);
  const max = settings.get(SETTINGS.maxWorkspaces, 'maxWorkspaces');
  const maxWorkspaces = Number(max.value);
  if (!Number.isInteger(maxWorkspaces) || maxWorkspaces < 1) throw new CliError(`invalid ${max.origin} '${max.value}'`, 2);
  // The gateway reads this list per request: the console's origin joins it once the control plane listens.
  const allowedOrigins = [...settings.value(SETTINGS.allowOrigin, 'allowOrigin')];
  const previewDomain = settings.value(SETTINGS.previewDomain, 'previewDomain') as string;
  // Before anything is created or listens: a runtime that cannot run stops here (exit 2).
  const choice = await chooseDriver(settings);
  const dataDir = settings.files.dataDir;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const log = createApiLogger();

  let store: Store;
  try {
    store = await openStore({ kind: 'sqlite', file: sqliteFile(dataDir) });
  } catch (err) {
    throw new CliError(`cannot open the store in ${dataDir}: ${(err as Error).message}`, 1);
  }
  const closers: Array<() => Promise<unknown>> = [() => store.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err: Error) => log.error({ err: err.message }, 'shutdown step failed'));
    closers.length = 0;
  };

  let stopped: Promise<void> | undefined;
  try {
    const driver = await openDriver(choice, settings, dataDir, log);
    // Stops the driver's warm pool if the gateway cannot start (the control plane's close shuts it down otherwise).
    closers.push(() => driver.shutdown());
    // The gateway listens first: public port URLs take its scheme and port (known only once it listens, port 0 included).
    // Requests for sleeping workspaces wake them through the control plane, once it runs.
    let wake = (_id: string): Promise<void> => Promise.reject(new AppError('service_unavailable', 'the control plane is starting'));
    const gateway = createGateway({
      routes: wakingRoutes(store, (id) => wake(id)),
      secret: await loadGatewaySecret(store),
      logger: createGatewayLogger(),
      allowedOrigins,
      previewDomain,
    });
    closers.push(() => gateway.close());
    // A dead agent's streams and WebSockets end at once: a container killed whole sends no FIN or RST to wait for.
    const unwatch = driver.watch?.((event) => gateway.agentExited(event.workspaceId));
    if (unwatch !== undefined) closers.push(async () => unwatch());
    const gatewayUrl = await gateway.listen(gw.host, gw.port).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`cannot listen on ${gatewayListen.value}: ${err.code ?? err.message}`, 1);
    });
    const metricsToken = process.env.COVE_METRICS_TOKEN;
    const cp = await createControlPlane({
      // A pause, stop, start, wake or removal drops the workspace's cached route in the gateway at once.
      store: withRouteChanges(store, (id) => gateway.routeChanged(id)),
      driver,
      logger: log,
      limits: { maxWorkspaces, ...accountCapsOf(settings) },
      previewDomain,
      gatewayUrl,
      metricsToken,
    });
    wake = (id) => cp.lifecycle.wake(id);
    // Closing the control plane stops its workspaces (they are restored on the next start).
    closers.push(() => cp.close());
    const apiUrl = await cp.listen(api.host, api.port).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`cannot listen on ${apiListen.value}: ${err.code ?? err.message}`, 1);
    });
    // The web console (served by the control plane) calls the gateway from the control plane's origin.
    allowedOrigins.push(...consoleOrigins(apiUrl));
    const creds = await ensureCredentials(store, dataDir, apiUrl, gatewayUrl);
    // SIGTERM / SIGINT: stop serving, stop the workspaces (restored on the next start), close the store.
    stopped = untilStopped(() => {
      log.info('shutting down');
      return closeAll();
    });
    process.stdout.write(quickStart(creds, dataDir, driver.name));
  } catch (err) {
    await closeAll();
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot start: ${(err as Error).message}`, 1);
  }

  await stopped;
}

/** The origins a browser shows the console at: the control plane's URL, and `localhost` for a loopback one. */
function consoleOrigins(apiUrl: string): string[] {
  const url = new URL(apiUrl);
  if (url.hostname !== '127.0.0.1') return [url.origin];
  return [url.origin, `${url.protocol}//localhost:${url.port}`];
}

/** Reuses the credential in credentials.json while it is valid in the store; otherwise creates one. */
async function ensureCredentials(store: Store, dataDir: string, apiUrl: string, gatewayUrl: string): Promise<CredentialsFile> {
  const file = path.join(dataDir, 'credentials.json');
  let existing: Partial<CredentialsFile> = {};
  if (existsSync(file)) existing = (JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Partial<CredentialsFile>) ?? {};
  const active = (await store.listCredentials()).some((c) => c.clientId === existing.client_id && c.revokedAt === null);
  let clientId = existing.client_id;
  let clientSecret = existing.client_secret;
  if (!active || !clientId || !clientSecret) {
    const issued = await createCredential(store, 'default', 'cove up');
    clientId = issued.clientId;
    clientSecret = issued.clientSecret;
  }
  const creds: CredentialsFile = { client_id: clientId, client_secret: clientSecret, api_url: apiUrl, gateway_url: gatewayUrl };
  // The URLs are rewritten at every start (the addresses may change); the file stays private.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return creds;
}

function quickStart(c: CredentialsFile, dataDir: string, driver: string): string {
  const file = path.join(dataDir, 'credentials.json');
  return `cove up: control plane ${c.api_url}, gateway ${c.gateway_url}, driver ${driver}, data ${dataDir}
Credentials (client id and secret, both URLs): ${file} (mode 600)

Quick start
  CLI (reads ${file}):
    cove ws create --name dev --public-access
    cove exec dev -- uname -a

  SDK (npm install @cove/sdk):
    import { readFileSync } from 'node:fs';
    import { Oblien } from '@cove/sdk';
    const c = JSON.parse(readFileSync('${file}', 'utf8'));
    const client = new Oblien({ clientId: c.client_id, clientSecret: c.client_secret, baseURL: c.api_url, gatewayURL: c.gateway_url });
    const ws = await client.workspaces.create({ name: 'dev' });
    await client.workspaces.network.update(ws.id, { public_access: true });
    const rt = await client.workspaces.runtime(ws.id);
    console.log(await rt.exec.run(['uname', '-a']));

  curl:
    ID=$(jq -r .client_id ${file}); SECRET=$(jq -r .client_secret ${file})
    curl -s -X POST ${c.api_url}/workspace -H "X-Client-ID: $ID" -H "X-Client-Secret: $SECRET" \\
      -H 'content-type: application/json' -d '{"name":"dev"}'

Stop with Ctrl-C (SIGTERM): workspaces stop and are restarted by the next \`cove up\`.
`;
}
