import { mkdir } from 'node:fs/promises';
import { openStore, type Store, sqliteFile } from '@cove/api';
import type { Command } from 'commander';
import { CliError } from './cli-error.js';
import { type Settings, settingOption } from './resolve-setting.js';
import { SETTINGS } from './settings.js';

/** The store flags `cove api` and `cove gateway` share: both open the control plane's store. */
export function withStoreOptions(command: Command): Command {
  return command
    .addOption(settingOption(SETTINGS.dataDir, '--data-dir <dir>'))
    .addOption(settingOption(SETTINGS.store, '--store <kind>'))
    .addOption(settingOption(SETTINGS.databaseUrl, '--database-url <url>'));
}

/** The SQLite store in the data directory, or PostgreSQL at the database URL. */
export async function openControlPlaneStore(settings: Settings): Promise<Store> {
  const kind = settings.value(SETTINGS.store, 'store');
  try {
    if (kind === 'postgres') {
      const url = settings.value(SETTINGS.databaseUrl, 'databaseUrl');
      if (!url) throw new CliError('--store postgres needs --database-url or COVE_DATABASE_URL', 2);
      return await openStore({ kind: 'postgres', url });
    }
    const dataDir = settings.files.dataDir;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    return await openStore({ kind: 'sqlite', file: sqliteFile(dataDir) });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot open the ${kind} store: ${(err as Error).message}`, 1);
  }
}
