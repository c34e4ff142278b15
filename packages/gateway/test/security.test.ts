import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { type RecordingUpstream, startRecordingUpstream } from './helpers/recording-upstream.js';
import { asymmetricToken, type MintClaims, mintToken, unsignedToken } from './helpers/tokens.js';
import { tryUpgrade } from './helpers/upgrade.js';

// Two "agents" on their own loopback addresses, so that a token naming
// 127.0.0.1 names an address that is no workspace's.
let a: RecordingUpstream;
let b: RecordingUpstream;
let gw: TestGateway;
const RAW_A = 'a'.repeat(32);
const RAW_B = 'b'.repeat(32);

const claimsA = (): MintClaims => ({ wid: 'ws_a', ip: a.ip, port: a.port, gen: gw.routes.routes.get('ws_a')?.generation ?? 1 });

beforeAll(async () => {
  a = await startRecordingUpstream('127.0.0.2');
  b = await startRecordingUpstream('127.0.0.3');
  gw = await startTestGateway();
  gw.routes.set({
    workspaceId: 'ws_a',
    ip: a.ip,
    port: a.port,
    rawToken: RAW_A,
    generation: 1,
    enabled: true,
    publicAccess: true,
    running: true,
  });
  gw.routes.set({
    workspaceId: 'ws_b',
    ip: b.ip,
    port: b.port,
    rawToken: RAW_B,
    generation: 1,
    enabled: true,
    publicAccess: true,
    running: true,
  });
});

afterAll(async () => {
  await gw.close();
  await a.close();
  await b.close();
});

async function get(token: string | undefined, path = '/files?path=/app'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(gw.url + path, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Runs a refused request and proves that nothing reached any agent. */
async function expectRefused(token: string | undefined, status: number, code: string, path?: string): Promise<void> {
  const before = a.requests.length + b.requests.length;
  const res = await get(token, path);
  expect(res).toEqual({ status, body: { success: false, error: expect.any(String), code } });
  expect(a.requests.length + b.requests.length).toBe(before);
}

describe('gateway security: refused tokens never reach an agent', () => {
  it('forwards a valid token to its own agent only, with the raw token instead of the JWT', async () => {
    const before = a.requests.length;
    const res = await get(await mintToken(claimsA()));
    expect(res.status).toBe(200);
    expect(a.requests.length).toBe(before + 1);
    expect(a.requests.at(-1)?.url).toBe('/files?path=/app');
    expect(a.requests.at(-1)?.headers.authorization).toBe(`Bearer ${RAW_A}`);
    expect(b.requests.length).toBe(0);
  });

  it('refuses a request without a token (401)', async () => {
    await expectRefused(undefined, 401, 'unauthorized');
  });

  it('refuses alg none (401)', async () => {
    await expectRefused(unsignedToken(claimsA()), 401, 'unauthorized');
  });

  it('refuses an HS256 token signed with another key (401)', async () => {
    await expectRefused(await mintToken(claimsA(), { secret: 'another-secret-0123456789abcdef0123456789ab' }), 401, 'unauthorized');
  });

  it('refuses an RS256 token (401)', async () => {
    await expectRefused(await asymmetricToken(claimsA(), 'RS256'), 401, 'unauthorized');
  });

  it('refuses an ES256 token (401)', async () => {
    await expectRefused(await asymmetricToken(claimsA(), 'ES256'), 401, 'unauthorized');
  });

  it('refuses an expired token (401)', async () => {
    await expectRefused(await mintToken(claimsA(), { expiresInSeconds: -60, iatOffsetSeconds: -3600 }), 401, 'unauthorized');
  });

  it('refuses a token that is not yet valid (401)', async () => {
    await expectRefused(await mintToken(claimsA(), { notBeforeSeconds: 3600 }), 401, 'unauthorized');
  });

  it("refuses a token whose payload names another workspace's address (401)", async () => {
    await expectRefused(await mintToken({ ...claimsA(), ip: b.ip, port: b.port }), 401, 'unauthorized');
  });

  it('refuses a token whose payload names 127.0.0.1 (401)', async () => {
    await expectRefused(await mintToken({ ...claimsA(), ip: '127.0.0.1' }), 401, 'unauthorized');
  });

  it('refuses a token whose payload names 169.254.169.254 (401)', async () => {
    await expectRefused(await mintToken({ ...claimsA(), ip: '169.254.169.254', port: 80 }), 401, 'unauthorized');
  });

  it("refuses a token whose payload names a port other than the agent's (401)", async () => {
    await expectRefused(await mintToken({ ...claimsA(), port: a.port === 65535 ? 65534 : a.port + 1 }), 401, 'unauthorized');
  });

  it('refuses a token of a workspace the store does not know (401)', async () => {
    await expectRefused(await mintToken({ ...claimsA(), wid: 'ws_gone' }), 401, 'unauthorized');
  });

  it('refuses a token from before a rotation within the route cache lifetime, and accepts the new one (401)', async () => {
    const old = await mintToken(claimsA());
    expect((await get(old)).status).toBe(200);
    gw.routes.rotate('ws_a');
    // The gateway reuses a route answer for at most 500 ms.
    await sleep(600);
    await expectRefused(old, 401, 'unauthorized');
    expect((await get(await mintToken(claimsA()))).status).toBe(200);
  });

  it('refuses a 30-day token after disable (401)', async () => {
    const longLived = await mintToken({ ...claimsA(), kind: 'workspace' }, { expiresInSeconds: 30 * 24 * 3600 });
    expect((await get(longLived)).status).toBe(200);
    const route = gw.routes.routes.get('ws_a');
    if (!route) throw new Error('no route');
    // Disable stops the server and revokes every token (a new generation).
    gw.routes.update('ws_a', { enabled: false, generation: route.generation + 1 });
    await sleep(600);
    await expectRefused(longLived, 401, 'unauthorized');
    gw.routes.update('ws_a', { enabled: true });
    await sleep(600);
  });

  it('refuses a JWT in the query string of a plain HTTP request (401)', async () => {
    const token = await mintToken(claimsA());
    await expectRefused(undefined, 401, 'unauthorized', `/files?path=/app&token=${token}`);
  });

  it('refuses the raw token of workspace A used for workspace B (401)', async () => {
    await expectRefused(RAW_A, 401, 'unauthorized');
  });

  it('refuses a workspace without public_access (403)', async () => {
    gw.routes.update('ws_b', { publicAccess: false });
    await sleep(600);
    await expectRefused(await mintToken({ wid: 'ws_b', ip: b.ip, port: b.port, gen: 1 }), 403, 'forbidden');
    gw.routes.update('ws_b', { publicAccess: true });
  });

  it('refuses a cross-site WebSocket upgrade (403)', async () => {
    const before = a.requests.length;
    const token = await mintToken(claimsA());
    const res = await tryUpgrade(`${gw.url}/ws?token=${token}`, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toEqual({ success: false, error: expect.any(String), code: 'forbidden' });
    expect(a.requests.length).toBe(before);
  });

  it('refuses a WebSocket upgrade with a forged token (401)', async () => {
    const before = a.requests.length;
    const res = await tryUpgrade(`${gw.url}/ws?token=${unsignedToken(claimsA())}`);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ success: false, code: 'unauthorized' });
    expect(a.requests.length).toBe(before);
  });
});
