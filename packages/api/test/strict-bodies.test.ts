import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileCases } from '../../http/test/hostile-bodies.js';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';

let t: TestControlPlane;
let id: string;

beforeAll(async () => {
  t = await startTestControlPlane();
  id = await t.createWorkspace({ name: 'target' });
});
afterAll(async () => {
  await t?.close();
});

/** Everything a body could change: the workspaces, one's network, its Internal API access. */
async function state(): Promise<unknown> {
  const [list, network, access] = await Promise.all([
    t.json('GET', '/workspace'),
    t.json('GET', `/workspace/${id}/network`),
    t.json('GET', `/workspace/${id}/internal-api-access`),
  ]);
  return { list: list.body, network: network.body, access: access.body };
}

const errorBody = { success: false, error: expect.any(String), code: 'bad_request' };

describe('JSON bodies are validated strictly on every route', () => {
  it('refuses every declared property sent with a wrong JSON type, and changes nothing', async () => {
    const doc = (await t.json<Parameters<typeof hostileCases>[0]>('GET', '/openapi.json')).body;
    // Path parameters name a real workspace: a body that got through would change it.
    const cases = hostileCases(doc, () => id);
    const routes = new Set(cases.map((c) => `${c.method} ${c.path.replace(id, ':id')}`));
    for (const route of ['POST /workspace', 'PUT /workspace/:id', 'PATCH /workspace/:id/network', 'POST /workspace/:id/network']) {
      expect(routes, route).toContain(route);
    }
    expect(routes).toContain('POST /workspace/:id/ping');
    expect(cases.length).toBeGreaterThan(50);

    const before = await state();
    for (const c of cases) {
      const res = await t.json(c.method, c.path, { body: c.body });
      expect(res.status, c.label).toBe(400);
      expect(res.body, c.label).toEqual(errorBody);
    }
    expect(await state()).toEqual(before);
  });

  it('names the parameter and the expected type', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/workspace', { name: 42 }, "invalid parameter 'name': must be string"],
      ['POST', '/workspace', { cpus: '2' }, "invalid parameter 'cpus': must be integer"],
      ['POST', '/workspace', { config: { memory_mb: '512' } }, "invalid parameter 'config.memory_mb': must be integer"],
      ['POST', '/workspace', { wait_ready: 'false' }, "invalid parameter 'wait_ready': must be boolean"],
      ['PATCH', `/workspace/${id}/network`, { public_access: 'true' }, "invalid parameter 'public_access': must be boolean"],
      ['PATCH', `/workspace/${id}/network`, { public_access: 1 }, "invalid parameter 'public_access': must be boolean"],
      ['PATCH', `/workspace/${id}/network`, { ingress_ports: 8080 }, "invalid parameter 'ingress_ports': must be array"],
      ['PATCH', `/workspace/${id}/network`, { egress: 'example.com' }, "invalid parameter 'egress': must be array"],
      ['PUT', `/workspace/${id}`, { name: ['a'] }, "invalid parameter 'name': must be string"],
    ];
    const before = await state();
    for (const [method, route, body, error] of cases) {
      const res = await t.json(method, route, { body });
      expect(res.status, `${method} ${route} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body).toEqual({ success: false, error, code: 'bad_request' });
    }
    expect(await state()).toEqual(before);
  });

  it('takes the official SDK’s bodiless POST (application/json, no bytes) as {}', async () => {
    const res = await t.json('POST', `/workspace/${id}/internal-api-access/enable`, {
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, token: expect.any(String) });
    const ping = await t.json('POST', `/workspace/${id}/ping`, { body: '', headers: { 'content-type': 'application/json' } });
    expect(ping.status).toBe(200);
  });
});

describe('query strings keep their documented coercion', () => {
  it('reads numbers from text', async () => {
    const res = await t.json('GET', '/workspace?page=1&limit=5');
    expect(res.status).toBe(200);
    expect(res.body.workspaces.map((w: { id: string }) => w.id)).toContain(id);
    const bad = await t.json('GET', '/workspace?limit=many');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ success: false, error: "invalid parameter 'limit': must be integer", code: 'bad_request' });
  });
});
