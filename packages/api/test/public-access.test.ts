import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { StoreConfig } from '@cove/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';

let t: TestControlPlane;

beforeAll(async () => {
  t = await startTestControlPlane();
});
afterAll(async () => {
  await t?.close();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const base = (id: string) => `/workspace/${id}/public-access`;

describe('public access: routes', () => {
  it('lists nothing at first; exposes a port with a generated slug and a URL on the preview domain', async () => {
    const id = await t.createWorkspace();
    expect((await t.json('GET', base(id))).body).toEqual({ success: true, workspace_id: id, ports: [] });
    const res = await t.json('POST', base(id), { body: { port: 3000, label: 'web' } });
    expect(res.status).toBe(200);
    const port = res.body.port;
    expect(port.slug).toMatch(new RegExp(`^3000-${id.slice(3, 9)}-[a-z0-9]{6}$`));
    expect(port).toEqual({
      port: 3000,
      url: `http://${port.slug}.localhost:9080/`,
      slug: port.slug,
      hash: port.slug,
      domain: 'localhost',
      label: 'web',
      auth: 'public',
      workspace_id: id,
      generation: expect.any(Number),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(res.body.created).toBe(true);
    const list = await t.json('GET', base(id));
    expect(list.body.ports).toEqual([port]);
    expect(await t.store.getPublicPort(port.slug)).toEqual({
      workspaceId: id,
      slug: port.slug,
      port: 3000,
      auth: 'public',
      tokenSha256: null,
      generation: port.generation,
    });
    // Exposing makes the agent reachable (its server runs, with a raw token the gateway sends upstream).
    const route = await t.store.getRoute(id);
    expect(route).toMatchObject({ enabled: true, running: true });
  });

  it('exposing again is idempotent; a label change keeps the generation, a slug change bumps it', async () => {
    const id = await t.createWorkspace();
    const first = (await t.json('POST', base(id), { body: { port: 8080 } })).body.port;
    expect(first.label).toBeUndefined();
    const again = await t.json('POST', base(id), { body: { port: 8080 } });
    expect(again.body).toEqual({ success: true, workspace_id: id, port: first, created: false });
    const labelled = (await t.json('POST', base(id), { body: { port: 8080, label: 'api' } })).body.port;
    expect(labelled).toMatchObject({ slug: first.slug, label: 'api', generation: first.generation });
    const renamed = (await t.json('POST', base(id), { body: { port: 8080, slug: `renamed-${id.slice(3)}` } })).body.port;
    expect(renamed).toMatchObject({ slug: `renamed-${id.slice(3)}`, url: `http://renamed-${id.slice(3)}.localhost:9080/`, label: 'api' });
    expect(renamed.generation).toBeGreaterThan(first.generation);
    expect(await t.store.getPublicPort(first.slug)).toBeUndefined();
    expect((await t.json('GET', base(id))).body.ports).toHaveLength(1);
  });

  it('a chosen slug is unique across the store (409), checked for grammar and reserved names (400)', async () => {
    const id = await t.createWorkspace();
    const other = await t.createWorkspace();
    const slug = `mine-${id.slice(3)}`;
    expect((await t.json('POST', base(id), { body: { port: 5000, slug } })).body.port.slug).toBe(slug);
    const taken = await t.json('POST', base(other), { body: { port: 5000, slug } });
    expect(taken.status).toBe(409);
    expect(taken.body).toEqual({ success: false, error: `slug '${slug}' is already in use`, code: 'conflict' });
    expect((await t.json('POST', base(id), { body: { port: 5001, slug } })).status).toBe(409);
    for (const bad of ['ab', 'UPPER', '-lead', 'trail-', 'has_underscore', 'dot.ted', 'x'.repeat(64), 'é-accent']) {
      const res = await t.json('POST', base(id), { body: { port: 5002, slug: bad } });
      expect(res.status, bad).toBe(400);
      expect(res.body.code, bad).toBe('bad_request');
    }
    const reserved = await t.json('POST', base(id), { body: { port: 5002, slug: 'www' } });
    expect(reserved.status).toBe(400);
    expect(reserved.body.error).toBe("invalid parameter 'slug': 'www' is reserved");
    expect((await t.json('GET', base(other))).body.ports).toEqual([]);
  });

  it("refuses the agent's port, ports out of range, other domains and unknown fields (400)", async () => {
    const id = await t.createWorkspace();
    const agent = await t.json('POST', base(id), { body: { port: 9990 } });
    expect(agent.status).toBe(400);
    expect(agent.body.error).toMatch(/9990 is the workspace agent's own port/);
    for (const body of [
      { port: 0 },
      { port: 65536 },
      { port: 3.5 },
      { port: '3000' },
      {},
      { port: 3000, auth: 'basic' },
      { port: 3000, x: 1 },
    ]) {
      expect((await t.json('POST', base(id), { body })).status, JSON.stringify(body)).toBe(400);
    }
    const domain = await t.json('POST', base(id), { body: { port: 3000, domain: 'opsh.io' } });
    expect(domain.status).toBe(400);
    expect(domain.body.error).toMatch(/'localhost' only/);
    expect((await t.json('POST', base(id), { body: { port: 3000, domain: 'localhost' } })).status).toBe(200);
    for (const p of ['0', '65536', '03000', 'abc', '-1']) {
      expect((await t.json('DELETE', `${base(id)}/${p}`)).status, p).toBe(400);
      expect((await t.json('PATCH', `${base(id)}/${p}`, { body: { slug: 'fine-slug' } })).status, p).toBe(400);
    }
    expect((await t.json('DELETE', `${base(id)}/4000`)).status).toBe(404);
    expect((await t.json('PATCH', `${base(id)}/4000`, { body: { slug: 'fine-slug' } })).status).toBe(404);
  });

  it('token auth: the token is returned once and only its SHA-256 is stored; switching back to public drops it', async () => {
    const id = await t.createWorkspace();
    const res = await t.json('POST', base(id), { body: { port: 3000, auth: 'token' } });
    const port = res.body.port;
    expect(port.auth).toBe('token');
    expect(port.token).toMatch(/^cpt_[0-9a-f]{64}$/);
    const route = await t.store.getPublicPort(port.slug);
    expect(route).toMatchObject({ auth: 'token', tokenSha256: sha256(port.token) });
    expect(JSON.stringify((await t.json('GET', base(id))).body)).not.toContain(port.token);
    const again = (await t.json('POST', base(id), { body: { port: 3000, auth: 'token' } })).body.port;
    expect(again.token).toBeUndefined();
    expect(again.generation).toBe(port.generation);
    const open = (await t.json('POST', base(id), { body: { port: 3000, auth: 'public' } })).body.port;
    expect(open.generation).toBeGreaterThan(port.generation);
    expect(await t.store.getPublicPort(port.slug)).toMatchObject({ auth: 'public', tokenSha256: null });
    const back = (await t.json('POST', base(id), { body: { port: 3000, auth: 'token' } })).body.port;
    expect(back.token).toMatch(/^cpt_/);
    expect(back.token).not.toBe(port.token);
    expect((await t.store.getPublicPort(port.slug))?.tokenSha256).toBe(sha256(back.token));
  });

  it('PATCH changes the slug and bumps the generation; DELETE revokes', async () => {
    const id = await t.createWorkspace();
    const port = (await t.json('POST', base(id), { body: { port: 3000 } })).body.port;
    const slug = `patched-${id.slice(3)}`;
    const res = await t.json('PATCH', `${base(id)}/3000`, { body: { slug } });
    expect(res.status).toBe(200);
    expect(res.body.port).toMatchObject({ port: 3000, slug, url: `http://${slug}.localhost:9080/` });
    expect(res.body.port.generation).toBeGreaterThan(port.generation);
    expect(await t.store.getPublicPort(port.slug)).toBeUndefined();
    expect((await t.store.getPublicPort(slug))?.generation).toBe(res.body.port.generation);
    expect((await t.json('PATCH', `${base(id)}/3000`, { body: { slug: 'www' } })).status).toBe(400);
    expect((await t.json('PATCH', `${base(id)}/3000`, { body: {} })).status).toBe(400);

    const del = await t.json('DELETE', `${base(id)}/3000`);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ success: true, workspace_id: id, port: 3000, revoked: true });
    expect(await t.store.getPublicPort(slug)).toBeUndefined();
    expect((await t.json('GET', base(id))).body.ports).toEqual([]);
    expect((await t.json('DELETE', `${base(id)}/3000`)).status).toBe(404);
    // The slug is free again, and exposing it anew never reuses a generation the gateway saw.
    const again = (await t.json('POST', base(id), { body: { port: 3000, slug } })).body.port;
    expect(again.generation).toBeGreaterThan(res.body.port.generation);
  });

  it("another owner's workspace is 404 on every route", async () => {
    const id = await t.createWorkspace();
    await t.json('POST', base(id), { body: { port: 3000 } });
    const bob = await t.newClient('bob');
    for (const [method, url, body] of [
      ['GET', base(id), undefined],
      ['POST', base(id), { port: 3001 }],
      ['PATCH', `${base(id)}/3000`, { slug: 'bobs-slug' }],
      ['DELETE', `${base(id)}/3000`, undefined],
    ] as const) {
      const res = await t.json(method, url, { auth: bob, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect((await t.json('GET', base(id))).body.ports).toHaveLength(1);
  });

  it('a stopped workspace keeps its ports; deleting the workspace deletes them', async () => {
    const id = await t.createWorkspace();
    const port = (await t.json('POST', base(id), { body: { port: 3000 } })).body.port;
    await t.json('POST', `/workspace/${id}/stop`);
    expect((await t.json('GET', base(id))).body.ports).toEqual([port]);
    expect(await t.store.getPublicPort(port.slug)).toBeDefined();
    expect(await t.store.getRoute(id)).toMatchObject({ running: false });
    // Exposing on a stopped workspace is recorded; its agent starts with the workspace.
    await t.json('POST', base(id), { body: { port: 3001 } });
    await t.json('POST', `/workspace/${id}/start`);
    expect(await t.store.getRoute(id)).toMatchObject({ running: true, enabled: true });
    expect((await t.json('DELETE', `/workspace/${id}`)).status).toBe(200);
    expect(await t.store.getPublicPort(port.slug)).toBeUndefined();
    expect(await t.store.listPublicPorts(id)).toEqual([]);
  });

  it('the routes are in the OpenAPI document', async () => {
    const doc = (await t.json('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/workspace/{id}/public-access', '/workspace/{id}/public-access/{port}']),
    );
    expect(Object.keys(doc.paths['/workspace/{id}/public-access/{port}'])).toEqual(expect.arrayContaining(['patch', 'delete']));
  });
});

describe('public URLs follow the configured preview domain and gateway URL', () => {
  it('https on a standard port has no port in the URL', async () => {
    const c = await startTestControlPlane({ previewDomain: 'Preview.Example.COM', gatewayUrl: 'https://gw.example.com' });
    try {
      const id = await c.createWorkspace();
      const port = (await c.json('POST', base(id), { body: { port: 3000, slug: 'my-app', domain: 'preview.example.com' } })).body.port;
      expect(port).toMatchObject({ url: 'https://my-app.preview.example.com/', domain: 'preview.example.com' });
    } finally {
      await c.close();
    }
  });
});

describe('getPublicPort on both stores', () => {
  let pg: TestPostgres;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cove-public-ports-'));
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const backends: Array<[string, () => Promise<StoreConfig>]> = [
    ['sqlite', async () => ({ kind: 'sqlite', file: path.join(dir, 'store.db') })],
    ['postgres', async () => ({ kind: 'postgres', url: await pg.createDatabase() })],
  ];

  it.each(backends)('%s: expose, look up by slug, bump, revoke, cascade', async (_name, config) => {
    const c = await startTestControlPlane({ store: await config() });
    try {
      const id = await c.createWorkspace();
      const other = await c.createWorkspace();
      const a = (await c.json('POST', base(id), { body: { port: 3000, slug: 'alpha-port', auth: 'token' } })).body.port;
      expect(await c.store.getPublicPort('alpha-port')).toEqual({
        workspaceId: id,
        slug: 'alpha-port',
        port: 3000,
        auth: 'token',
        tokenSha256: sha256(a.token),
        generation: a.generation,
      });
      expect(await c.store.getPublicPort('nobody-here')).toBeUndefined();
      expect((await c.json('POST', base(other), { body: { port: 3000, slug: 'alpha-port' } })).status).toBe(409);
      // Concurrent changes each get their own generation (one atomic counter, store-wide).
      const results = await Promise.all(
        ['beta-port', 'gamma-port', 'delta-port'].map((slug, i) => c.json('POST', base(other), { body: { port: 4000 + i, slug } })),
      );
      const generations = results.map((r) => r.body.port.generation as number);
      expect(new Set([...generations, a.generation]).size).toBe(4);
      const renamed = (await c.json('PATCH', `${base(id)}/3000`, { body: { slug: 'alpha-two' } })).body.port;
      expect(renamed.generation).toBeGreaterThan(Math.max(...generations));
      expect(await c.store.getPublicPort('alpha-port')).toBeUndefined();
      expect((await c.json('PATCH', `${base(other)}/4000`, { body: { slug: 'alpha-two' } })).status).toBe(409);
      expect((await c.store.getPublicPort('alpha-two'))?.generation).toBe(renamed.generation);
      await c.json('DELETE', `/workspace/${other}`);
      expect(await c.store.getPublicPort('beta-port')).toBeUndefined();
      expect(await c.store.getPublicPort('alpha-two')).toBeDefined();
    } finally {
      await c.close();
    }
  });
});
