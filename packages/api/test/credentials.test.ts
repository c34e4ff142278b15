import { hashSecret } from '@cove/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';

let t: TestControlPlane;

beforeAll(async () => {
  t = await startTestControlPlane();
});
afterAll(async () => {
  await t?.close();
});

describe('client credentials', () => {
  it('accept the right pair; refuse a wrong secret, an unknown id, missing headers and bearer tokens with 401', async () => {
    expect((await t.json('GET', '/workspace')).status).toBe(200);
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'x-client-id': t.client.clientId, 'x-client-secret': `${t.client.clientSecret}x` }, 'invalid client credentials'],
      [{ 'x-client-id': t.client.clientId, 'x-client-secret': t.client.clientSecret.slice(0, -1) }, 'invalid client credentials'],
      [{ 'x-client-id': 'cid_000000000000000000000000', 'x-client-secret': t.client.clientSecret }, 'invalid client credentials'],
      [{ 'x-client-id': 'x'.repeat(5000), 'x-client-secret': 'y'.repeat(5000) }, 'invalid client credentials'],
      [{ 'x-client-id': t.client.clientId }, 'invalid client credentials'],
      [{}, 'missing credentials: send X-Client-ID and X-Client-Secret'],
      [{ authorization: 'Bearer abc' }, 'bearer tokens are not accepted by this control plane; send X-Client-ID and X-Client-Secret'],
    ];
    for (const [headers, error] of cases) {
      const res = await t.json('GET', '/workspace', { auth: null, headers });
      expect(res.status, JSON.stringify(headers).slice(0, 80)).toBe(401);
      expect(res.body).toEqual({ success: false, code: 'unauthorized', error });
    }
  });

  it('authentication runs before routing: unknown paths and wrong methods are 401 without credentials', async () => {
    expect((await t.json('GET', '/nope', { auth: null })).status).toBe(401);
    expect((await t.json('PATCH', '/workspace', { auth: null })).status).toBe(401);
  });

  it('store only a SHA-256 hash of the secret', async () => {
    const record = await t.store.getCredential(t.client.clientId);
    expect(record?.secretHash).toBe(hashSecret(t.client.clientSecret));
    expect(record?.secretHash).not.toContain(t.client.clientSecret);
    expect(t.client.clientSecret).toMatch(/^cs_[A-Za-z0-9_-]{43}$/);
  });

  it('a revoked credential is refused at once; other credentials of the owner keep working and see the same workspaces', async () => {
    const second = await t.newClient('alice');
    const id = await t.createWorkspace();
    expect((await t.json('GET', `/workspace/${id}`, { auth: second })).status).toBe(200);
    expect(await t.store.revokeCredential(second.clientId, new Date().toISOString())).toBe(true);
    expect(await t.store.revokeCredential(second.clientId, new Date().toISOString())).toBe(false);
    const res = await t.json('GET', `/workspace/${id}`, { auth: second });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ success: false, code: 'unauthorized', error: 'invalid client credentials' });
    expect((await t.json('GET', `/workspace/${id}`)).status).toBe(200);
  });
});
