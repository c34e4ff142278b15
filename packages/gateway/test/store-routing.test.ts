// Routing against the control plane's real store (SQLite) with JWTs minted by its own signer.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadGatewaySecret, openStore, type Store, signGatewayJwt, sqliteFile } from '@cove/api';
import { createGateway, type Gateway } from '@cove/gateway';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './helpers/raw-request.js';
import { type RecordingUpstream, startRecordingUpstream } from './helpers/recording-upstream.js';

let dir: string;
let store: Store;
let secret: Uint8Array;
let up: RecordingUpstream;
let gateway: Gateway;
let url: string;
const RAW = 'd'.repeat(32);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cove-gw-store-'));
  store = await openStore({ kind: 'sqlite', file: sqliteFile(dir) });
  secret = await loadGatewaySecret(store);
  up = await startRecordingUpstream();
  const now = new Date().toISOString();
  await store.insertWorkspace({
    id: 'ws_store',
    owner: 'default',
    name: 'store',
    image: 'default',
    cpus: 1,
    memoryMb: 512,
    diskMb: 1024,
    status: 'running',
    ip: up.ip,
    port: up.port,
    accessEnabled: true,
    rawToken: RAW,
    generation: 1,
    tokenExpiresAt: null,
    network: { publicAccess: true, allowInternet: true, privateLinkIds: [], ingressPorts: [], egress: [] },
    idempotencyKey: null,
    lastPingAt: null,
    createdAt: now,
    updatedAt: now,
  });
  gateway = createGateway({ routes: store, secret, logger: pino({ level: 'silent' }) });
  url = await gateway.listen('127.0.0.1', 0);
});

afterAll(async () => {
  await gateway.close();
  await up.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function jwt(): Promise<string> {
  const ws = await store.getWorkspace('ws_store');
  if (!ws || ws.ip === null || ws.port === null) throw new Error('no workspace');
  return (await signGatewayJwt(secret, { workspaceId: ws.id, ip: ws.ip, port: ws.port, generation: ws.generation }, 'session')).token;
}

const get = async (token: string) => rawRequest(`${url}/files?path=/`, { headers: { authorization: `Bearer ${token}` } });

describe('gateway over the SQLite store', () => {
  it("routes a control-plane JWT to the workspace's agent with its raw token", async () => {
    const res = await get(await jwt());
    expect(res.status).toBe(200);
    expect(up.requests.at(-1)?.headers.authorization).toBe(`Bearer ${RAW}`);
  });

  it('refuses a token once the store bumps the generation (rotation), within the route cache lifetime', async () => {
    const old = await jwt();
    expect((await get(old)).status).toBe(200);
    await store.bumpGeneration('ws_store');
    await sleep(600);
    const before = up.requests.length;
    const refused = await get(old);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ success: false, code: 'unauthorized' });
    expect(up.requests.length).toBe(before);
    expect((await get(await jwt())).status).toBe(200);
  });

  it('answers 403 when the network setting forbids public access, 503 when access is disabled', async () => {
    const token = await jwt();
    const ws = await store.getWorkspace('ws_store');
    if (!ws) throw new Error('no workspace');
    await store.updateWorkspace('ws_store', { network: { ...ws.network, publicAccess: false } });
    await sleep(600);
    expect((await get(token)).status).toBe(403);
    await store.updateWorkspace('ws_store', { network: { ...ws.network, publicAccess: true }, accessEnabled: false });
    await sleep(600);
    expect((await get(token)).status).toBe(503);
    await store.updateWorkspace('ws_store', { accessEnabled: true });
  });

  it('answers 503 while the workspace is paused, saying so, and routes again once it runs', async () => {
    const token = await jwt();
    await store.updateWorkspace('ws_store', { status: 'paused' });
    await sleep(600);
    const before = up.requests.length;
    const paused = await get(token);
    expect(paused.status).toBe(503);
    expect(JSON.parse(paused.body)).toEqual({
      success: false,
      code: 'service_unavailable',
      error: 'the workspace is paused; resume it first',
    });
    expect(up.requests.length).toBe(before);
    await store.updateWorkspace('ws_store', { status: 'running' });
    await sleep(600);
    expect((await get(token)).status).toBe(200);
  });
});
