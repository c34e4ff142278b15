// Migration 4 (workspace_metadata) and the store's metadata and resize methods, on SQLite and PostgreSQL: a store
// at version 3 is brought up to 4 with its rows kept; metadata is a compare-and-set on its version; it goes with
// its workspace; the sizes a resize records round-trip.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store, type StoreConfig, type WorkspaceRecord } from '@cove/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { PostgresDriver } from '../../src/store/postgres-driver.js';
import type { SqlDriver } from '../../src/store/sql-driver.js';
import { SqliteDriver } from '../../src/store/sqlite-driver.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cove-store-md-'));
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const backends: Array<[string, () => Promise<StoreConfig>]> = [
  ['sqlite', async () => ({ kind: 'sqlite', file: path.join(dir, `store-${++n}.db`) })],
  ['postgres', async () => ({ kind: 'postgres', url: await pg.createDatabase() })],
];

const driverOf = (cfg: StoreConfig): SqlDriver => (cfg.kind === 'sqlite' ? new SqliteDriver(cfg.file) : new PostgresDriver(cfg.url));

function workspace(id: string, owner = 'alice'): WorkspaceRecord {
  const now = new Date(Date.UTC(2026, 0, 1, 0, 0, n++)).toISOString();
  return {
    id,
    owner,
    name: id,
    image: 'debian:12',
    cpus: 1,
    memoryMb: 1024,
    diskMb: 4096,
    status: 'running',
    ip: null,
    port: null,
    accessEnabled: false,
    rawToken: null,
    generation: 1,
    tokenExpiresAt: null,
    network: { publicAccess: false, allowInternet: true, privateLinkIds: [], ingressPorts: [], egress: [] },
    idempotencyKey: null,
    lastPingAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

describe.each(backends)('%s store: metadata (migration 4) and resizes', (_name, config) => {
  let cfg: StoreConfig;
  let store: Store;

  beforeAll(async () => {
    cfg = await config();
    // A database as the version before left it: migrations 1-3 applied, a workspace in it.
    const db = driverOf(cfg);
    await db.run('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
      for (const statement of m.statements) await db.run(statement);
      await db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        '2026-01-01T00:00:00Z',
      ]);
    }
    await db.run(
      `INSERT INTO workspaces (id, owner, name, image, cpus, memory_mb, disk_mb, status, created_at, updated_at)
       VALUES ('ws_old000000000', 'alice', 'old', 'debian:12', 1, 512, 2048, 'stopped', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
    );
    await db.close();
    store = await openStore(cfg);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('the upgrade applied migration 4 only, kept the rows, and is not applied again', async () => {
    const db = driverOf(cfg);
    const versions = (await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).map((r) =>
      Number(r.version),
    );
    await db.close();
    expect(versions).toEqual([1, 2, 3, 4]);
    expect(await store.migrate()).toEqual([]);
    expect(await store.getWorkspace('ws_old000000000')).toMatchObject({ name: 'old', memoryMb: 512, diskMb: 2048 });
    expect(await store.getMetadata('ws_old000000000')).toEqual({
      workspaceId: 'ws_old000000000',
      entries: {},
      version: 0,
      updatedAt: null,
    });
  });

  it('put is a compare-and-set on the version; values round-trip exactly', async () => {
    const id = 'ws_md0000000001';
    await store.insertWorkspace(workspace(id));
    const entries = { env: 'prod', 'app.kubernetes.io/name': 'web', emoji: 'é ✓ 🚀', quote: `"'\\`, nul: 'a\u0000b', __proto__x: 'p' };
    const first = await store.putMetadata(id, entries, 0);
    expect(first).toMatchObject({ workspaceId: id, entries, version: 1, updatedAt: expect.any(String) });
    // A writer that read version 0 too comes second: nothing changes.
    expect(await store.putMetadata(id, { other: 'x' }, 0)).toBeUndefined();
    expect(await store.putMetadata(id, { other: 'x' }, 2)).toBeUndefined();
    expect((await store.getMetadata(id)).entries).toEqual(entries);
    const second = await store.putMetadata(id, { env: 'dev' }, 1);
    expect(second).toMatchObject({ entries: { env: 'dev' }, version: 2 });
    // Racing writers on one version: exactly one wins.
    const race = await Promise.all([1, 2, 3, 4, 5].map((i) => store.putMetadata(id, { n: String(i) }, 2)));
    expect(race.filter((r) => r !== undefined)).toHaveLength(1);
    expect((await store.getMetadata(id)).version).toBe(3);
  });

  it('no row for a workspace that does not exist; the row goes with its workspace', async () => {
    expect(await store.putMetadata('ws_missing000000', { a: 'b' }, 0)).toBeUndefined();
    expect((await store.getMetadata('ws_missing000000')).version).toBe(0);
    const id = 'ws_md0000000002';
    await store.insertWorkspace(workspace(id));
    await store.putMetadata(id, { a: 'b' }, 0);
    expect(await store.deleteWorkspace(id)).toBe(true);
    expect(await store.getMetadata(id)).toEqual({ workspaceId: id, entries: {}, version: 0, updatedAt: null });
  });

  it('a resize records cpus, memory and disk, alone or together', async () => {
    const id = 'ws_md0000000003';
    await store.insertWorkspace(workspace(id));
    expect(await store.updateWorkspace(id, { memoryMb: 2048 })).toMatchObject({ cpus: 1, memoryMb: 2048, diskMb: 4096 });
    expect(await store.updateWorkspace(id, { cpus: 4, diskMb: 8192 })).toMatchObject({ cpus: 4, memoryMb: 2048, diskMb: 8192 });
    expect(await store.getWorkspace(id)).toMatchObject({ cpus: 4, memoryMb: 2048, diskMb: 8192 });
  });
});
