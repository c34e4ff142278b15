import { createApiLogger, createControlPlane, createCredential, OWNER_PATTERN, sqliteFile } from '@cove/api';
import { Command } from 'commander';
import { accountCapsOf } from '../account-caps.js';
import { CliError } from '../cli-error.js';
import { parseListen } from '../listen-address.js';
import { Settings, settingOption } from '../resolve-setting.js';
import { SETTINGS } from '../settings.js';
import { untilStopped } from '../stop-signals.js';
import { openControlPlaneStore, withStoreOptions } from '../store-options.js';
import { chooseDriver, openDriver, withDriverOptions } from '../workspace-driver.js';

/** `cove api`: the control plane, and `cove api credentials …` to manage client credentials. */
export function apiCommand(): Command {
  const api = withStoreOptions(new Command('api'))
    .description('Run the control plane (workspaces, credentials, access tokens, network)')
    .addOption(settingOption(SETTINGS.apiListen, '--listen <host:port>'));
  withDriverOptions(api)
    .addOption(settingOption(SETTINGS.maxWorkspaces, '--max-workspaces <n>'))
    .addOption(settingOption(SETTINGS.accountCpus, '--account-cpus <n>'))
    .addOption(settingOption(SETTINGS.accountMemoryMb, '--account-memory-mb <mib>'))
    .addOption(settingOption(SETTINGS.accountDiskMb, '--account-disk-mb <mib>'))
    .addOption(settingOption(SETTINGS.previewDomain, '--preview-domain <domain>'))
    .addOption(settingOption(SETTINGS.publicGatewayUrl, '--gateway-url <url>'));
  api
    .addHelpText(
      'after',
      `
Each setting: its flag, else its environment variable, else its key in
<data-dir>/config.json, else the default; \`cove up\` reads the same ones. Clients authenticate with X-Client-ID and
X-Client-Secret; create a pair with
  cove api credentials create --owner alice

Examples:
  cove api --listen 0.0.0.0:9070
  cove api --preview-domain preview.example.com --gateway-url https://gw.example.com
  COVE_DATABASE_URL=postgres://cove@db/cove cove api --store postgres`,
    )
    .action(async (_flags: unknown, command: Command) => {
      await serve(new Settings(command));
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
        const flags = command.opts<{ owner: string; label: string; json?: boolean }>();
        if (!OWNER_PATTERN.test(flags.owner)) throw new CliError(`invalid --owner '${flags.owner}': letters, digits, _ . @ - (max 64)`, 2);
        const store = await openControlPlaneStore(new Settings(command));
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
        const flags = command.opts<{ json?: boolean }>();
        const store = await openControlPlaneStore(new Settings(command));
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
        const store = await openControlPlaneStore(new Settings(command));
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

async function serve(settings: Settings): Promise<void> {
  const listen = settings.get(SETTINGS.apiListen, 'listen');
  const { host, port } = parseListen(listen.value, listen.origin);
  const max = settings.get(SETTINGS.maxWorkspaces, 'maxWorkspaces');
  const maxWorkspaces = Number(max.value);
  if (!Number.isInteger(maxWorkspaces) || maxWorkspaces < 1) throw new CliError(`invalid ${max.origin} '${max.value}'`, 2);
  const dataDir = settings.files.dataDir;
  const kind = settings.value(SETTINGS.store, 'store');
  // Before the store opens or anything listens: a runtime that cannot run stops here (exit 2).
  const choice = await chooseDriver(settings);
  const store = await openControlPlaneStore(settings);
  const log = createApiLogger();
  const driver = await openDriver(choice, settings, dataDir, log).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  let cp: Awaited<ReturnType<typeof createControlPlane>>;
  try {
    cp = await createControlPlane({
      store,
      driver,
      logger: log,
      limits: { maxWorkspaces, ...accountCapsOf(settings) },
      previewDomain: settings.value(SETTINGS.previewDomain, 'previewDomain') as string,
      gatewayUrl: settings.value(SETTINGS.publicGatewayUrl, 'gatewayUrl') as string,
      // Only from the environment: a token on the command line is readable by every user of the machine.
      metricsToken: process.env.COVE_METRICS_TOKEN,
    });
  } catch (err) {
    await driver.shutdown();
    await store.close();
    throw new CliError(`cannot start the control plane: ${(err as Error).message}`, 1);
  }
  const url = await cp.listen(host, port).catch(async (err: NodeJS.ErrnoException) => {
    await cp.close();
    await store.close();
    throw new CliError(`cannot listen on ${listen.value}: ${err.code ?? err.message}`, 1);
  });
  const where = kind === 'sqlite' ? sqliteFile(dataDir) : 'postgres';
  // Shutdown stops the agents this process started; the next start restores workspaces that were running.
  const stopped = untilStopped(() =>
    cp
      .close()
      .then(() => store.close())
      .catch((err: Error) => log.error({ err: err.message }, 'shutdown failed')),
  );
  process.stdout.write(`cove api ready on ${url} (store ${kind} ${where}, driver ${driver.name}, data ${dataDir})\n`);
  await stopped;
}
