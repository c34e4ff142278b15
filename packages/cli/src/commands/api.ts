import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createApiLogger,
  createControlPlane,
  createCredential,
  OWNER_PATTERN,
  openStore,
  ProcessDriver,
  type Store,
  sqliteFile,
} from '@cove/api';
import { Command, Option } from 'commander';
import { CliError } from '../cli-error.js';
import { parseListen } from '../listen-address.js';
import { openSandboxDriver } from './up.js';

interface StoreFlags {
  dataDir: string;
  store: 'sqlite' | 'postgres';
  databaseUrl?: string;
}

interface ServeFlags extends StoreFlags {
  listen: string;
  driver: 'process' | 'sandbox';
  maxWorkspaces: string;
}

/** The `cove` program's own entry: the process driver runs `cove agent` from it. */
const COVE_BIN = fileURLToPath(new URL('../../bin/cove.js', import.meta.url));

function storeOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'where the SQLite store and workspace directories live', path.join(os.homedir(), '.cove'))
    .addOption(new Option('--store <kind>', 'where state is kept').choices(['sqlite', 'postgres']).default('sqlite'))
    .option('--database-url <url>', 'PostgreSQL URL (prefer COVE_DATABASE_URL: command lines are visible to every user)');
}

async function open(flags: StoreFlags): Promise<Store> {
  const dataDir = path.resolve(flags.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    if (flags.store === 'postgres') {
      const url = flags.databaseUrl ?? process.env.COVE_DATABASE_URL;
      if (!url) throw new CliError('--store postgres needs --database-url or COVE_DATABASE_URL', 2);
      return await openStore({ kind: 'postgres', url });
    }
    return await openStore({ kind: 'sqlite', file: sqliteFile(dataDir) });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot open the ${flags.store} store: ${(err as Error).message}`, 1);
  }
}

/** `cove api`: the control plane, and `cove api credentials …` to manage client credentials. */
export function apiCommand(): Command {
  const api = storeOptions(new Command('api'))
    .description('Run the control plane (workspaces, credentials, access tokens, network)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8080')
    .addOption(
      new Option('--driver <name>', 'how workspaces run (sandbox: isolated, root on Linux)')
        .choices(['process', 'sandbox'])
        .default('process'),
    )
    .option('--max-workspaces <n>', 'workspaces each account may have', '100')
    .addHelpText(
      'after',
      `
Clients authenticate with X-Client-ID and X-Client-Secret; create a pair with
  cove api credentials create --owner alice

Examples:
  cove api --listen 127.0.0.1:8080
  COVE_DATABASE_URL=postgres://cove@db/cove cove api --store postgres`,
    )
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });

  // The store options are the parent's (`cove api --data-dir … credentials create`, or after the subcommand).
  const credentials = new Command('credentials').description('Create, list and revoke client credentials');
  credentials.addCommand(
    new Command('create')
      .description('Create a client id and secret (the secret is shown once)')
      .option('--owner <name>', 'the account whose workspaces the credential reaches', 'default')
      .option('--label <text>', 'a note to recognise the credential by', '')
      .option('--json', 'print JSON')
      .action(async (_flags: unknown, command: Command) => {
        const flags = command.optsWithGlobals<StoreFlags & { owner: string; label: string; json?: boolean }>();
        if (!OWNER_PATTERN.test(flags.owner)) throw new CliError(`invalid --owner '${flags.owner}': letters, digits, _ . @ - (max 64)`, 2);
        const store = await open(flags);
        try {
          const issued = await createCredential(store, flags.owner, flags.label.slice(0, 200));
          if (flags.json)
            process.stdout.write(
              `${JSON.stringify({ client_id: issued.clientId, client_secret: issued.clientSecret, owner: issued.owner })}\n`,
            );
          else process.stdout.write(`OBLIEN_CLIENT_ID=${issued.clientId}\nOBLIEN_CLIENT_SECRET=${issued.clientSecret}\n`);
        } finally {
          await store.close();
        }
      }),
  );
  credentials.addCommand(
    new Command('list')
      .description('List credentials (never their secrets)')
      .option('--json', 'print JSON')
      .action(async (_flags: unknown, command: Command) => {
        const flags = command.optsWithGlobals<StoreFlags & { json?: boolean }>();
        const store = await open(flags);
        try {
          const rows = (await store.listCredentials()).map((c) => ({
            client_id: c.clientId,
            owner: c.owner,
            label: c.label,
            created_at: c.createdAt,
            revoked_at: c.revokedAt,
          }));
          if (flags.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
          else
            for (const r of rows)
              process.stdout.write(`${r.client_id}\t${r.owner}\t${r.revoked_at ? 'revoked' : 'active'}\t${r.created_at}\t${r.label}\n`);
        } finally {
          await store.close();
        }
      }),
  );
  credentials.addCommand(
    new Command('revoke')
      .description('Revoke a credential: its requests are refused from now on')
      .argument('<client-id>')
      .action(async (clientId: string, _flags: unknown, command: Command) => {
        const flags = command.optsWithGlobals<StoreFlags>();
        const store = await open(flags);
        try {
          if (!(await store.revokeCredential(clientId, new Date().toISOString()))) {
            throw new CliError(`no active credential '${clientId}'`, 1);
          }
          process.stdout.write(`revoked ${clientId}\n`);
        } finally {
          await store.close();
        }
      }),
  );
  api.addCommand(credentials);
  return api;
}

async function serve(flags: ServeFlags): Promise<void> {
  const { host, port } = parseListen(flags.listen);
  const maxWorkspaces = Number(flags.maxWorkspaces);
  if (!Number.isInteger(maxWorkspaces) || maxWorkspaces < 1) throw new CliError(`invalid --max-workspaces '${flags.maxWorkspaces}'`, 2);
  const dataDir = path.resolve(flags.dataDir);
  const store = await open(flags);
  const log = createApiLogger();
  const driver =
    flags.driver === 'sandbox'
      ? await openSandboxDriver(dataDir, log)
      : new ProcessDriver({ root: path.join(dataDir, 'workspaces'), agentCommand: [process.execPath, COVE_BIN, 'agent'], log });
  let cp: Awaited<ReturnType<typeof createControlPlane>>;
  try {
    cp = await createControlPlane({ store, driver, logger: log, limits: { maxWorkspaces } });
  } catch (err) {
    await driver.shutdown();
    await store.close();
    throw new CliError(`cannot start the control plane: ${(err as Error).message}`, 1);
  }
  const url = await cp.listen(host, port).catch(async (err: NodeJS.ErrnoException) => {
    await cp.close();
    await store.close();
    throw new CliError(`cannot listen on ${flags.listen}: ${err.code ?? err.message}`, 1);
  });
  const where = flags.store === 'sqlite' ? sqliteFile(dataDir) : 'postgres';
  process.stdout.write(`cove api ready on ${url} (store ${flags.store} ${where}, driver ${flags.driver}, data ${dataDir})\n`);

  // Shutdown stops the agents this process started; the next start restores workspaces that were running.
  await new Promise<void>((resolve) => {
    const stop = () => {
      cp.close()
        .then(() => store.close())
        .then(resolve, (err: Error) => {
          log.error({ err: err.message }, 'shutdown failed');
          resolve();
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
