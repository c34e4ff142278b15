import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';

let t: TestControlPlane;

beforeAll(async () => {
  t = await startTestControlPlane();
});
afterAll(async () => {
  await t?.close();
});

describe('network', () => {
  it('defaults: network-dark inbound, internet on, no links; top-level fields', async () => {
    const id = await t.createWorkspace();
    const res = await t.json('GET', `/workspace/${id}/network`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      workspace_id: id,
      ip: '127.0.0.1',
      gateway: null,
      public_access: false,
      allow_internet: true,
      private_links: [],
      private_link_ids: [],
      ingress_ports: [],
      egress: [],
      outbound_mode: 'managed',
      outbound_proxy: null,
    });
  });

  it('PATCH and POST are partial updates; private links resolve to addresses; the route follows public_access', async () => {
    const id = await t.createWorkspace();
    const peer = await t.createWorkspace();
    const a = await t.json('PATCH', `/workspace/${id}/network`, { body: { public_access: true } });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ public_access: true, allow_internet: true, private_links: [] });
    expect((await t.store.getRoute(id))?.publicAccess).toBe(true);
    const b = await t.json('POST', `/workspace/${id}/network`, {
      body: { private_link_ids: [peer, peer], ingress_ports: [8080, 3000, 8080], egress: ['example.com'] },
    });
    expect(b.body).toMatchObject({
      public_access: true,
      private_link_ids: [peer],
      private_links: [{ workspace_id: peer, ip: '127.0.0.1' }],
      ingress_ports: [3000, 8080],
      egress: ['example.com'],
    });
    // Egress entries are kept as the driver enforces them: lower-cased, no trailing dot, each once.
    const egress = await t.json('PATCH', `/workspace/${id}/network`, {
      body: { egress: ['API.Example.com.', 'api.example.com', '203.0.113.0/24', '198.51.100.7'] },
    });
    expect(egress.body.egress).toEqual(['api.example.com', '203.0.113.0/24', '198.51.100.7']);
    await t.json('PATCH', `/workspace/${id}/network`, { body: { egress: ['example.com'] } });
    const c = await t.json('PATCH', `/workspace/${id}/network`, { body: { allow_internet: false, public_access: false } });
    expect(c.body).toMatchObject({ public_access: false, allow_internet: false, private_link_ids: [peer], ingress_ports: [3000, 8080] });
    expect((await t.store.getRoute(id))?.publicAccess).toBe(false);
    expect((await t.json('GET', `/workspace/${id}/network`)).body).toEqual(c.body);
    const empty = await t.json('PATCH', `/workspace/${id}/network`, { body: '', headers: { 'content-type': 'application/json' } });
    expect(empty.body).toEqual(c.body);
    await t.json('DELETE', `/workspace/${peer}`);
    expect((await t.json('GET', `/workspace/${id}/network`)).body.private_links).toEqual([]);
  });

  it('refuses unsupported and invalid fields with 400 success:false', async () => {
    const id = await t.createWorkspace();
    const other = await (async () => {
      const bob = await t.newClient('bob');
      const res = await t.json('POST', '/workspace', { body: {}, auth: bob });
      return res.body.workspace.id as string;
    })();
    const cases: Array<[unknown, string]> = [
      [
        { outbound_mode: 'custom' },
        "invalid parameter 'outbound_mode': custom outbound proxies are not supported; traffic leaves through the host",
      ],
      [
        { custom_proxy: { host: 'p', port: 1 } },
        "invalid parameter 'outbound_mode': custom outbound proxies are not supported; traffic leaves through the host",
      ],
      [{ outbound_mode: 'weird' }, "invalid parameter 'outbound_mode': must be one of managed, custom"],
      [{ firewall: 'off' }, "unknown parameter 'firewall'"],
      [{ public_access: 'maybe' }, "invalid parameter 'public_access': must be boolean"],
      [{ ingress_ports: [70000] }, "invalid parameter 'ingress_ports[0]': must be <= 65535"],
      [{ private_link_ids: [id] }, "invalid parameter 'private_link_ids': a workspace cannot link to itself"],
      [{ private_link_ids: ['ws_nosuchthing'] }, "invalid parameter 'private_link_ids': no workspace 'ws_nosuchthing'"],
      [{ private_link_ids: [other] }, `invalid parameter 'private_link_ids': no workspace '${other}'`],
      [{ private_link_ids: { a: 1 } }, "invalid parameter 'private_link_ids': must be array"],
      ...['https://example.com', 'example.com:443', '*.example.com', '2001:db8::1', '10.0.0.256', '10.0.0.0/33', '1.2.3', 'a..b'].map(
        (entry): [unknown, string] => [
          { egress: ['ok.example', entry] },
          `invalid parameter 'egress': '${entry}' is not an IPv4 address, an IPv4 CIDR range or a host name`,
        ],
      ),
    ];
    for (const [body, error] of cases) {
      const res = await t.json('PATCH', `/workspace/${id}/network`, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toEqual({ success: false, code: 'bad_request', error });
    }
    expect((await t.json('GET', `/workspace/${id}/network`)).body.public_access).toBe(false);
  });
});
