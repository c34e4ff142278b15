import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVALID_IDS, requestWithId, UUID, VALID_IDS } from '../../http/test/request-ids.js';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';

let t: TestControlPlane;
beforeAll(async () => {
  t = await startTestControlPlane();
});
afterAll(async () => {
  await t?.close();
});

const auth = () => ({ 'x-client-id': t.client.clientId, 'x-client-secret': t.client.clientSecret });

describe('x-request-id on the control plane', () => {
  it('echoes a valid id', async () => {
    for (const id of VALID_IDS) {
      const res = await requestWithId(`${t.url}/workspace`, id, { headers: auth() });
      expect(res.status, id).toBe(200);
      expect(res.ids, id).toEqual([id]);
    }
  });

  it('makes one when absent or invalid (too long, empty, space, control character, non-ASCII)', async () => {
    for (const id of [undefined, ...INVALID_IDS]) {
      const res = await requestWithId(`${t.url}/health`, id);
      expect(res.status, String(id)).toBe(200);
      expect(res.ids).toHaveLength(1);
      expect(res.ids[0]).toMatch(UUID);
    }
  });

  it('is on errors: authentication failures, 404, 405, 400', async () => {
    const cases: Array<[number, string, Parameters<typeof requestWithId>[2]]> = [
      [401, '/workspace', {}],
      [401, '/workspace', { headers: { 'x-client-id': t.client.clientId, 'x-client-secret': 'wrong' } }],
      [404, '/workspace/ws_nope', { headers: auth() }],
      [404, '/no/such/path', { headers: auth() }],
      [405, '/workspace', { method: 'DELETE', headers: auth() }],
      [400, '/workspace', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{"name":1}' }],
    ];
    for (const [status, route, options] of cases) {
      const res = await requestWithId(`${t.url}${route}`, `cp-${status}`, options);
      expect(res.status, route).toBe(status);
      expect(res.ids, route).toEqual([`cp-${status}`]);
      expect(JSON.parse(res.body)).toMatchObject({ success: false, code: expect.any(String) });
    }
  });
});
