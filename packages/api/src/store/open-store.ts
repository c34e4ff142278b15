import path from 'node:path';
import { PostgresDriver } from './postgres-driver.js';
import { SqlStore } from './sql-store.js';
import { SqliteDriver } from './sqlite-driver.js';
import type { Store } from './store.js';

export type StoreConfig = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** Opens a store and brings its schema up to date. */
export async function openStore(config: StoreConfig): Promise<Store> {
  const driver = config.kind === 'sqlite' ? new SqliteDriver(config.file) : new PostgresDriver(config.url);
  const store = new SqlStore(driver);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}

/** The default SQLite file in a data directory. */
export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, 'cove.db');
}
