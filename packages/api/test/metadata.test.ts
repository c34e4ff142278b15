// Workspace metadata over HTTP: GET the bare map, PUT replaces, PATCH merges (null removes), bounds and hostile
// input answered 400 (413 past the body limit), other owners 404, and the server serving on.
import { METADATA_LIMITS } from '@cove/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';

let t: TestControlPlane;

beforeAll(async () => {
  t = await startTestControlPlane();
});
afterAll(async () => {
  await t?.close();
});

const path = (id: string) => `/workspace/${id}/metadata`;

describe('metadata', () => {
  it('starts empty; PUT replaces, PATCH merges and a null removes a key; GET is the bare map', async () => {
    const id = await t.createWorkspace();
    expect(await t.json('GET', path(id))).toMatchObject({ status: 200, body: {} });
    const put = await t.json('PUT', path(id), { body: { metadata: { env: 'prod', team: 'backend', 'app.kubernetes.io/name': 'web' } } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({
      success: true,
      workspace_id: id,
      metadata: { env: 'prod', team: 'backend', 'app.kubernetes.io/name': 'web' },
      updated_at: expect.any(String),
    });
    const patch = await t.json('PATCH', path(id), { body: { metadata: { env: 'staging', team: null, 'owner:ci': 'yes' } } });
    expect(patch.body.metadata).toEqual({ env: 'staging', 'app.kubernetes.io/name': 'web', 'owner:ci': 'yes' });
    expect((await t.json('GET', path(id))).body).toEqual({ env: 'staging', 'app.kubernetes.io/name': 'web', 'owner:ci': 'yes' });
    // PUT drops what it does not name; {} clears.
    expect((await t.json('PUT', path(id), { body: { metadata: { only: '1' } } })).body.metadata).toEqual({ only: '1' });
    expect((await t.json('PUT', path(id), { body: { metadata: {} } })).body.metadata).toEqual({});
    expect((await t.json('GET', path(id))).body).toEqual({});
  });

  it('metadata given at create is there; a bad one fails the create before anything is made', async () => {
    const id = await t.createWorkspace({ metadata: { purpose: 'ci', 'run-id': '42' } });
    expect((await t.json('GET', path(id))).body).toEqual({ purpose: 'ci', 'run-id': '42' });
    const before = (await t.json('GET', '/workspace')).body.total;
    const bad = await t.json('POST', '/workspace', { body: { metadata: { n: 1 } } });
    expect(bad).toMatchObject({ status: 400, body: { success: false, code: 'bad_request' } });
    expect((await t.json('GET', '/workspace')).body.total).toBe(before);
  });

  it('bounds: too many keys, long keys and values, a total past the limit, bad keys, non-strings: 400 and nothing changes', async () => {
    const id = await t.createWorkspace();
    await t.json('PUT', path(id), { body: { metadata: { keep: 'me' } } });
    const many = Object.fromEntries(Array.from({ length: METADATA_LIMITS.maxKeys + 1 }, (_, i) => [`k${i}`, 'v']));
    const long = 'x'.repeat(METADATA_LIMITS.maxValueLength + 1);
    // 64 keys of 2 KiB values: each within its bounds, the whole past 16 KiB.
    const heavy = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`h${i}`, 'y'.repeat(METADATA_LIMITS.maxValueLength)]));
    const bodies: unknown[] = [
      { metadata: many },
      { metadata: { ['k'.repeat(METADATA_LIMITS.maxKeyLength + 1)]: 'v' } },
      { metadata: { big: long } },
      { metadata: heavy },
      { metadata: { '': 'empty key' } },
      { metadata: { '-lead': 'v' } },
      { metadata: { 'sp ace': 'v' } },
      { metadata: { 'nl\n': 'v' } },
      { metadata: { n: 1 } },
      { metadata: { b: true } },
      { metadata: { o: { nested: 'x' } } },
      { metadata: { a: ['x'] } },
      { metadata: ['a', 'b'] },
      { metadata: 'env=prod' },
      { metadata: null },
      {},
      [],
    ];
    for (const body of bodies) {
      for (const method of ['PUT', 'PATCH']) {
        const res = await t.json(method, path(id), { body });
        expect(res.status, `${method} ${JSON.stringify(body).slice(0, 80)}`).toBe(400);
        expect(res.body).toMatchObject({
          success: false,
          code: expect.stringMatching(/^(bad_request|invalid_json)$/),
          error: expect.any(String),
        });
      }
    }
    // A null in PUT is not a removal: PUT names the whole metadata.
    expect((await t.json('PUT', path(id), { body: { metadata: { keep: null } } })).status).toBe(400);
    // A prototype key is refused by the JSON parser, never merged into anything.
    const proto = await t.request('PATCH', path(id), {
      body: '{"metadata":{"__proto__":{"x":"1"}}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(proto.status).toBe(400);
    expect((await t.json('GET', path(id))).body).toEqual({ keep: 'me' });
  });

  it('a merge is checked as a whole: PATCH past the key count or total size is 400 and changes nothing', async () => {
    const id = await t.createWorkspace();
    const full = Object.fromEntries(Array.from({ length: METADATA_LIMITS.maxKeys }, (_, i) => [`k${i}`, 'v']));
    expect((await t.json('PUT', path(id), { body: { metadata: full } })).status).toBe(200);
    const over = await t.json('PATCH', path(id), { body: { metadata: { extra: 'v' } } });
    expect(over).toMatchObject({
      status: 400,
      body: { code: 'bad_request', error: expect.stringContaining(`at most ${METADATA_LIMITS.maxKeys}`) },
    });
    // Replacing a key and removing another in one PATCH stays within the count.
    const swap = await t.json('PATCH', path(id), { body: { metadata: { k0: null, extra: 'v' } } });
    expect(swap.status).toBe(200);
    expect(Object.keys(swap.body.metadata)).toHaveLength(METADATA_LIMITS.maxKeys);
    const heavy = await t.json('PATCH', path(id), {
      body: {
        metadata: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i + 1}`, 'z'.repeat(METADATA_LIMITS.maxValueLength)])),
      },
    });
    expect(heavy).toMatchObject({ status: 400, body: { error: expect.stringContaining(`${METADATA_LIMITS.maxTotalBytes} are allowed`) } });
  });

  it('a huge body is 413; the server keeps serving', async () => {
    const id = await t.createWorkspace();
    const res = await t.json('PUT', path(id), { body: { metadata: { big: 'x'.repeat(2 * 1024 * 1024) } } });
    expect(res.status).toBe(413);
    expect((await t.json('GET', path(id))).status).toBe(200);
  });

  it('concurrent PATCHes of different keys all land (compare-and-set on the stored version)', async () => {
    const id = await t.createWorkspace();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.json('PATCH', path(id), { body: { metadata: { [`key${i}`]: String(i) } } })),
    );
    for (const r of results) expect(r.status).toBe(200);
    const got = (await t.json('GET', path(id))).body;
    expect(Object.keys(got).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `key${i}`).sort());
  });

  it('the metadata and resources routes are in the OpenAPI document, with their bounds', async () => {
    const doc = (await t.json('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths['/workspace/{id}/metadata']).sort()).toEqual(['get', 'patch', 'put']);
    expect(Object.keys(doc.paths['/workspace/{id}/resources']).sort()).toEqual(['get', 'patch', 'put']);
    const schema = doc.paths['/workspace/{id}/metadata'].put.requestBody.content['application/json'].schema;
    expect(schema.properties.metadata).toMatchObject({ maxProperties: METADATA_LIMITS.maxKeys });
  });

  it('other owners and unknown ids: 404; the metadata goes with its workspace', async () => {
    const id = await t.createWorkspace();
    await t.json('PUT', path(id), { body: { metadata: { a: 'b' } } });
    const mallory = await t.newClient('mallory');
    for (const method of ['GET', 'PUT', 'PATCH']) {
      const body = method === 'GET' ? undefined : { metadata: { a: 'stolen' } };
      expect((await t.json(method, path(id), { body, auth: mallory })).status).toBe(404);
      expect((await t.json(method, path('ws_doesnotexist0'), { body })).status).toBe(404);
    }
    expect((await t.json('GET', path(id))).body).toEqual({ a: 'b' });
    expect((await t.json('DELETE', `/workspace/${id}`)).status).toBe(200);
    expect((await t.store.getMetadata(id)).version).toBe(0);
    expect(await t.store.putMetadata(id, { a: 'late' }, 0)).toBeUndefined();
  });
});
