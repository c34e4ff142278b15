import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store, type StoreConfig, type WorkspaceRecord } from '@cove/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cove-store-'));
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

function workspace(id: string, owner = 'alice', extra: Partial<WorkspaceRecord> = {}): WorkspaceRecord {
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
    ip: '10.0.0.2',
    port: 9990,
    accessEnabled: false,
    rawToken: null,
    generation: 1,
    tokenExpiresAt: null,
    network: { publicAccess: false, allowInternet: true, privateLinkIds: [], ingressPorts: [], egress: [] },
    idempotencyKey: null,
    lastPingAt: null,
    createdAt: now,
    updatedAt: now,
    ...extra,
  };
}

describe.each(backends)('%s store', (_name, config) => {
  let store: Store;
  let cfg: StoreConfig;
  beforeAll(async () => {
    cfg = await config();
    store = await openStore(cfg);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('migrations are applied once and are idempotent across instances', async () => {
    expect(await store.migrate()).toEqual([]);
    const [a, b] = await Promise.all([openStore(cfg), openStore(cfg)]);
    expect(await a.migrate()).toEqual([]);
    await a.close();
    await b.close();
  });

  it('settings are created once; concurrent first reads agree', async () => {
    const values = await Promise.all([1, 2, 3, 4].map((i) => store.ensureSetting('k', () => `v${i}`)));
    expect(new Set(values).size).toBe(1);
    expect(await store.ensureSetting('k', () => 'other')).toBe(values[0]);
  });

  it('credentials: insert, get, list, revoke once', async () => {
    const rec = {
      clientId: 'cid_1',
      secretHash: 'sha256:ab',
      owner: 'alice',
      label: 'ci',
      createdAt: '2026-01-01T00:00:00.000Z',
      revokedAt: null,
    };
    await store.insertCredential(rec);
    expect(await store.getCredential('cid_1')).toEqual(rec);
    expect(await store.getCredential('cid_missing')).toBeUndefined();
    expect(await store.listCredentials()).toEqual([rec]);
    expect(await store.revokeCredential('cid_1', '2026-02-01T00:00:00.000Z')).toBe(true);
    expect(await store.revokeCredential('cid_1', '2026-03-01T00:00:00.000Z')).toBe(false);
    expect((await store.getCredential('cid_1'))?.revokedAt).toBe('2026-02-01T00:00:00.000Z');
    await expect(store.insertCredential(rec)).rejects.toThrow();
  });

  it('workspaces round-trip every field; idempotency keys are per owner', async () => {
    const rec = workspace('ws_aaaaaaaa', 'alice', {
      network: { publicAccess: true, allowInternet: false, privateLinkIds: ['ws_bbbbbbbb'], ingressPorts: [80], egress: ['a.example'] },
      idempotencyKey: 'key-1',
      accessEnabled: true,
      rawToken: 'f'.repeat(64),
    });
    expect(await store.insertWorkspace(rec)).toEqual({ record: rec, created: true });
    expect(await store.getWorkspace(rec.id)).toEqual(rec);
    const retry = await store.insertWorkspace(workspace('ws_cccccccc', 'alice', { idempotencyKey: 'key-1' }));
    expect(retry).toEqual({ record: rec, created: false });
    expect(await store.getWorkspace('ws_cccccccc')).toBeUndefined();
    const otherOwner = await store.insertWorkspace(workspace('ws_dddddddd', 'bob', { idempotencyKey: 'key-1' }));
    expect(otherOwner.created).toBe(true);
  });

  it('lists by owner and status with paging and a total', async () => {
    await store.insertWorkspace(workspace('ws_list0001', 'carol'));
    await store.insertWorkspace(workspace('ws_list0002', 'carol', { status: 'stopped' }));
    await store.insertWorkspace(workspace('ws_list0003', 'carol'));
    const all = await store.listWorkspaces({ owner: 'carol' });
    expect(all.total).toBe(3);
    expect(all.items.map((w) => w.id)).toEqual(['ws_list0001', 'ws_list0002', 'ws_list0003']);
    const page = await store.listWorkspaces({ owner: 'carol', limit: 1, offset: 1 });
    expect(page).toMatchObject({ total: 3, items: [{ id: 'ws_list0002' }] });
    const running = await store.listWorkspaces({ owner: 'carol', status: 'running' });
    expect(running.items.map((w) => w.id)).toEqual(['ws_list0001', 'ws_list0003']);
    expect((await store.listWorkspaces({ owner: 'nobody' })).total).toBe(0);
  });

  it('updates patch only the given fields; bumpGeneration is atomic under concurrency', async () => {
    await store.insertWorkspace(workspace('ws_upd00001'));
    const updated = await store.updateWorkspace('ws_upd00001', { name: 'renamed', port: null, accessEnabled: true });
    expect(updated).toMatchObject({ name: 'renamed', port: null, accessEnabled: true, ip: '10.0.0.2', generation: 1 });
    const bumps = await Promise.all(Array.from({ length: 10 }, () => store.bumpGeneration('ws_upd00001')));
    expect(bumps.map((b) => b?.generation).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const last = await store.bumpGeneration('ws_upd00001', { rawToken: null, accessEnabled: false });
    expect(last).toMatchObject({ generation: 12, accessEnabled: false, rawToken: null, name: 'renamed' });
    expect(await store.updateWorkspace('ws_missing1', { name: 'x' })).toBeUndefined();
    expect(await store.bumpGeneration('ws_missing1')).toBeUndefined();
  });

  it('is the gateway RouteSource: enabled only with a token and an address', async () => {
    await store.insertWorkspace(
      workspace('ws_route001', 'alice', {
        accessEnabled: true,
        rawToken: 'r'.repeat(64),
        network: { publicAccess: true, allowInternet: true, privateLinkIds: [], ingressPorts: [], egress: [] },
      }),
    );
    expect(await store.getRoute('ws_route001')).toEqual({
      workspaceId: 'ws_route001',
      ip: '10.0.0.2',
      port: 9990,
      rawToken: 'r'.repeat(64),
      generation: 1,
      enabled: true,
      publicAccess: true,
      running: true,
      paused: false,
      wakeable: false,
    });
    await store.updateWorkspace('ws_route001', { status: 'paused' });
    expect(await store.getRoute('ws_route001')).toMatchObject({ running: false, paused: true, wakeable: true });
    expect((await store.getWorkspace('ws_route001'))?.status).toBe('paused');
    await store.updateWorkspace('ws_route001', { status: 'stopped', ip: null });
    expect(await store.getRoute('ws_route001')).toMatchObject({ enabled: false, running: false, paused: false, ip: '', wakeable: false });
    // Stopped by a policy (the lifecycle row says traffic may wake it): wakeable; the row goes with its workspace.
    const at = '2026-01-01T00:00:00.000Z';
    const lifecycle = {
      workspaceId: 'ws_route001',
      mode: 'temporary' as const,
      ttlSeconds: 60,
      ttlAction: 'remove' as const,
      expiresAt: at,
      removeOnExit: true,
      idleSuspendAfter: 30,
      idleStopAfter: null,
      restartPolicy: 'on-failure' as const,
      maxRestarts: 3,
      restartCount: 1,
      lastRestartAt: at,
      lastActivityAt: at,
      suspendedAt: at,
      stoppedBy: 'idle' as const,
      wakeOnTraffic: true,
      startedAt: at,
      events: [{ at, type: 'idle_stop' }],
      createdAt: at,
      updatedAt: at,
    };
    await store.putLifecycle(lifecycle);
    await store.putLifecycle({ ...lifecycle, restartCount: 2 });
    expect(await store.getLifecycle('ws_route001')).toEqual({ ...lifecycle, restartCount: 2 });
    expect(await store.listLifecycles()).toEqual([{ ...lifecycle, restartCount: 2 }]);
    expect(await store.getRoute('ws_route001')).toMatchObject({ running: false, wakeable: true });
    expect(await store.getRoute('ws_nothere01')).toBeUndefined();
    expect(await store.deleteWorkspace('ws_route001')).toBe(true);
    expect(await store.deleteWorkspace('ws_route001')).toBe(false);
    expect(await store.getRoute('ws_route001')).toBeUndefined();
    expect(await store.getLifecycle('ws_route001')).toBeUndefined();
  });
});
