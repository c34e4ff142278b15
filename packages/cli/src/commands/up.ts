import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createApiLogger,
  createControlPlane,
  createCredential,
  loadGatewaySecret,
  openStore,
  ProcessDriver,
  type Store,
  sqliteFile,
  type WorkspaceDriver,
} from '@cove/api';
import { createGateway, createGatewayLogger } from '@cove/gateway';
import { Command, Option } from 'commander';
import type { Logger } from 'pino';
import { CliError } from '../cli-error.js';
import { parseListen } from '../listen-address.js';

interface UpFlags {
  dataDir: string;
  apiListen: string;
  gatewayListen: string;
  driver: 'auto' | 'sandbox' | 'process';
  runtime: string;
  subnet: string;
  imagesDir?: string;
  warmPool: string;
  maxWorkspaces: string;
  allowOrigin: string[];
}

/** The `cove` program's own entry: the process driver runs `cove agent` from it. */
const COVE_BIN = fileURLToPath(new URL('../../bin/cove.js', import.meta.url));

/** What `credentials.json` holds (snake_case, as the API spells it; read by the CLI's user commands). */
interface CredentialsFile {
  client_id: string;
  client_secret: string;
  api_url: string;
  gateway_url: string;
}

/** `cove up`: the control plane, the gateway and a driver in one process on the embedded SQLite store. */
export function upCommand(): Command {
  return new Command('up')
    .description('Run everything on this machine: control plane, gateway and workspaces (SQLite store, no set-up)')
    .option(
      '--data-dir <dir>',
      'where the store, credentials and workspaces live',
      process.env.COVE_DATA_DIR || path.join(os.homedir(), '.cove'),
    )
    .option('--api-listen <host:port>', "the control plane's address", '127.0.0.1:9070')
    .option('--gateway-listen <host:port>', "the gateway's address", '127.0.0.1:9080')
    .addOption(
      new Option('--driver <name>', 'how workspaces run: sandbox (isolated; root on Linux) or process (no isolation, development)')
        .choices(['auto', 'sandbox', 'process'])
        .default('auto'),
    )
    .option('--runtime <path>', 'the OCI runtime of the sandbox driver', 'runc')
    .option('--subnet <cidr>', "the sandbox workspaces' private subnet", '10.88.0.0/16')
    .option('--images-dir <dir>', 'image cache of the sandbox driver (default /var/cache/cove/images)')
    .option('--warm-pool <n>', 'sandbox workspaces kept ready for fast creates (default image and disk size)', '2')
    .option('--max-workspaces <n>', 'workspaces each account may have', '100')
    .option('--allow-origin <origin...>', 'browser origins allowed to call the gateway (CORS and WebSockets)', [])
    .addHelpText(
      'after',
      `
The first run creates a client credential and writes it, with both URLs, to
<data-dir>/credentials.json (mode 600); the \`cove\` user commands and the
quick start printed at startup read it from there.

Examples:
  sudo cove up                                   # sandbox driver (runc), ~/.cove
  cove up --driver process --data-dir /tmp/cove  # no isolation, any OS`,
    )
    .action(async (flags: UpFlags) => {
      await up(flags);
    });
}

async function up(flags: UpFlags): Promise<void> {
  const api = parseListen(flags.apiListen);
  const gw = parseListen(flags.gatewayListen);
  const maxWorkspaces = Number(flags.maxWorkspaces);
  if (!Number.isInteger(maxWorkspaces) || maxWorkspaces < 1) throw new CliError(`invalid --max-workspaces '${flags.maxWorkspaces}'`, 2);
  const dataDir = path.resolve(flags.dataDir);
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

  try {
    const driver = await openDriver(flags, dataDir, log);
    const cp = await createControlPlane({ store, driver, logger: log, limits: { maxWorkspaces } });
    // Closing the control plane stops its workspaces (they are restored on the next start).
    closers.push(() => cp.close());
    const apiUrl = await cp.listen(api.host, api.port).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`cannot listen on ${flags.apiListen}: ${err.code ?? err.message}`, 1);
    });
    const gateway = createGateway({
      routes: store,
      secret: await loadGatewaySecret(store),
      logger: createGatewayLogger(),
      allowedOrigins: flags.allowOrigin,
    });
    closers.push(() => gateway.close());
    const gatewayUrl = await gateway.listen(gw.host, gw.port).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`cannot listen on ${flags.gatewayListen}: ${err.code ?? err.message}`, 1);
    });
    const creds = await ensureCredentials(store, dataDir, apiUrl, gatewayUrl);
    process.stdout.write(quickStart(creds, dataDir, driver.name));
  } catch (err) {
    await closeAll();
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot start: ${(err as Error).message}`, 1);
  }

  // SIGTERM / SIGINT: stop serving, stop the workspaces (restored on the next start), close the store.
  await new Promise<void>((resolve) => {
    const stop = () => {
      log.info('shutting down');
      closeAll().then(resolve, resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** The sandbox driver where it can run, else the process driver with a warning nobody can miss. */
async function openDriver(flags: UpFlags, dataDir: string, log: Logger): Promise<WorkspaceDriver> {
  let kind = flags.driver;
  let why = '';
  if (kind !== 'process') {
    const { sandboxSupport } = await import('@cove/sandbox');
    const support = sandboxSupport(flags.runtime);
    if (!support.ok) {
      if (kind === 'sandbox') throw new CliError(`the sandbox driver cannot run here: ${support.reasons.join('; ')}`, 2);
      why = support.reasons.join('; ');
      kind = 'process';
    } else kind = 'sandbox';
  }
  if (kind === 'sandbox') {
    const { SandboxDriver } = await import('@cove/sandbox');
    const warm = Number(flags.warmPool);
    if (!Number.isInteger(warm) || warm < 0 || warm > 64) throw new CliError(`invalid --warm-pool '${flags.warmPool}': 0…64`, 2);
    const driver = await SandboxDriver.open({
      dataDir: path.join(dataDir, 'sandbox'),
      imagesDir: flags.imagesDir ? path.resolve(flags.imagesDir) : '/var/cache/cove/images',
      runtime: flags.runtime,
      subnet: flags.subnet,
      log,
      // Matches the control plane's defaults (debian:12, 4096 MiB): a create without options adopts a ready workspace.
      ...(warm > 0 ? { warmPool: { size: warm, image: 'debian:12', diskMb: 4096 } } : {}),
    });
    // The default image (debian:12) is built once, in the background, so that the first create rarely waits for it.
    if (!driver.images.isReady('debian-12')) {
      driver.images.ensure('debian-12').catch((err: Error) => log.error({ err: err.message }, 'building the debian:12 image failed'));
    }
    return driver;
  }
  const banner = [
    '',
    '!!! WARNING: the process driver runs workspaces WITHOUT ANY ISOLATION.',
    '!!! Their commands run as this user, on this host, with its files and network.',
    `!!! Use it for development only.${why ? ` (sandbox driver unavailable: ${why})` : ''}`,
    '',
  ].join('\n');
  process.stderr.write(`${banner}\n`);
  log.warn({ reason: why || 'chosen with --driver process' }, 'process driver: workspaces are not isolated');
  return new ProcessDriver({ root: path.join(dataDir, 'workspaces'), agentCommand: [process.execPath, COVE_BIN, 'agent'], log });
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

/** The sandbox driver with `cove up`'s defaults (also `cove api --driver sandbox`); a usage error where it cannot run. */
export async function openSandboxDriver(dataDir: string, log: Logger, runtime = 'runc'): Promise<WorkspaceDriver> {
  const { SandboxDriver, sandboxSupport } = await import('@cove/sandbox');
  const support = sandboxSupport(runtime);
  if (!support.ok) throw new CliError(`the sandbox driver cannot run here: ${support.reasons.join('; ')}`, 2);
  try {
    return await SandboxDriver.open({ dataDir: path.join(dataDir, 'sandbox'), imagesDir: '/var/cache/cove/images', runtime, log });
  } catch (err) {
    throw new CliError(`cannot open the sandbox driver: ${(err as Error).message}`, 1);
  }
}
