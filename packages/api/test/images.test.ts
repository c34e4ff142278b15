// The image routes: over the process driver (no image store) the list the official SDK reads, who may do
// what, and hostile input; over the sandbox driver's real store (a registry on loopback) pulls, imports,
// removal, and creates that pull first (waiting, or in the background with `provisioning`).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';
import { type DriverVariant, driverVariants, startTestStack, type TestStack } from './helpers/driver-stack.js';
import { makeTestImages, TEST_IMAGE_CONFIG, type TestImages } from './helpers/test-images.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field and assert on them
type Body = Record<string, any>;

let t: TestControlPlane;
/** A credential of the operator account (`default`, the one `cove up` makes). */
let operator: Client;

beforeAll(async () => {
  t = await startTestControlPlane();
  operator = await t.newClient('default');
});
afterAll(async () => {
  await t?.close();
});

/** A request whose path goes out exactly as written (fetch would resolve `..` first). */
function rawRequest(
  method: string,
  rawPath: string,
  client: Client = t.client,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: rawPath,
        headers: { 'x-client-id': client.clientId, 'x-client-secret': client.clientSecret },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('images over a driver without an image store', () => {
  it("lists the one image such workspaces run on, in the official SDK's shape, with the categories", async () => {
    const res = await t.json('GET', '/workspace/images');
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.images).toEqual([
      {
        id: 'host',
        image: 'host',
        label: 'host',
        desc: expect.stringContaining("host's own files"),
        category: 'os',
        name: 'host',
        references: ['host'],
        digest: null,
        source: 'builtin',
        size: 0,
        layers: 0,
        created: expect.any(String),
        config: { env: [], working_dir: null, user: null, entrypoint: null, cmd: null },
      },
    ]);
    expect(res.body.categories.map((c: { id: string }) => c.id)).toEqual(['os', 'runtime', 'database', 'infra', 'devtools', 'custom']);
    for (const c of res.body.categories) expect(c.label).toEqual(expect.any(String));
  });

  it('filters by search (case-insensitive, id/reference/label/description) and category (`all` is none)', async () => {
    const names = async (query: string) => (await t.json('GET', `/workspace/images${query}`)).body.images.map((i: { id: string }) => i.id);
    expect(await names('?search=HOST')).toEqual(['host']);
    expect(await names('?search=own%20files')).toEqual(['host']);
    expect(await names('?search=python')).toEqual([]);
    expect(await names('?category=os')).toEqual(['host']);
    expect(await names('?category=all')).toEqual(['host']);
    expect(await names('?category=runtime')).toEqual([]);
    expect(await names('?category=nonsense&search=')).toEqual([]);
    const long = await t.json('GET', `/workspace/images?search=${'x'.repeat(201)}`);
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ success: false, code: 'bad_request' });
  });

  it('gets an image by reference; one the driver cannot have is 404 saying why', async () => {
    const host = await t.json('GET', '/workspace/images/host');
    expect(host.status).toBe(200);
    expect(host.body.image.id).toBe('host');
    const missing = await t.json('GET', `/workspace/images/${encodeURIComponent('python:3.12-slim')}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/no image store/);
  });

  it('pull and import answer 409 (no store to put an image in); unauthenticated calls are 401', async () => {
    const pull = await t.json('POST', '/workspace/images/pull', { body: { image: 'alpine:3.20' } });
    expect(pull.status).toBe(409);
    expect(pull.body).toMatchObject({
      success: false,
      code: 'conflict',
      error: expect.stringMatching(/process driver has no image store/),
    });
    const streamed = await t.json('POST', '/workspace/images/pull', {
      body: { image: 'alpine' },
      headers: { accept: 'application/x-ndjson' },
    });
    expect(streamed.status).toBe(409);
    const imported = await t.request('POST', '/workspace/images/import', {
      auth: operator,
      body: 'not really a tar',
      headers: { 'content-type': 'application/x-tar' },
    });
    expect(imported.status).toBe(409);
    expect((await t.json('GET', '/workspace/images', { auth: null })).status).toBe(401);
    expect((await t.json('POST', '/workspace/images/pull', { auth: null, body: { image: 'alpine' } })).status).toBe(401);
  });

  it('import and delete are for operator accounts only (403 for others, before the body is read)', async () => {
    const imported = await t.json('POST', '/workspace/images/import', { body: 'x', headers: { 'content-type': 'application/x-tar' } });
    expect(imported.status).toBe(403);
    expect(imported.body).toMatchObject({ success: false, code: 'forbidden', error: expect.stringMatching(/operator accounts.*default/) });
    const removed = await t.json('DELETE', '/workspace/images/host');
    expect(removed.status).toBe(403);
    // The operator reaches the store's own answer.
    const asOperator = await t.json('DELETE', '/workspace/images/host', { auth: operator });
    expect(asOperator.status).toBe(409);
  });

  it('refuses bad references with 400 naming them, in bodies, paths and queries', async () => {
    for (const image of ['../etc/passwd', 'UPPER/case', 'a b', 'a:', 'x@sha256:zz', '', 'a'.repeat(300), 'a\u0000b', 'http://x/y']) {
      const res = await t.json('POST', '/workspace/images/pull', { body: { image } });
      expect(res.status, image).toBe(400);
      expect(res.body.code).toBe('bad_request');
    }
    for (const ref of ['..%2F..%2Fetc%2Fpasswd', '%2E%2E', 'a%00b', 'a%0Ab', 'a//b', 'Caps']) {
      const res = await rawRequest('GET', `/workspace/images/${ref}`);
      expect(res.status, ref).toBe(400);
      expect(res.body).toMatchObject({ success: false, code: 'bad_request', error: expect.stringMatching(/invalid image reference/) });
    }
    // Dot segments are not resolved: the rest of the path is one (bad) reference, never a file path.
    const walked = await rawRequest('GET', '/workspace/images/../../etc/passwd');
    expect(walked.status).toBe(400);
    expect(walked.body.error).toMatch(/invalid image reference '\.\.\/\.\.\/etc\/passwd'/);
    expect((await rawRequest('DELETE', '/workspace/images/../../etc/passwd', operator)).status).toBe(400);
    const query = await t.json('POST', '/workspace/images/import?name=..%2Fx', {
      auth: operator,
      body: 'x',
      headers: { 'content-type': 'application/x-tar' },
    });
    expect(query.status).toBe(400);
    // The server is still serving.
    expect((await t.json('GET', '/workspace/images')).status).toBe(200);
  });

  it('pull bodies are strict: unknown keys, wrong types, half a credential', async () => {
    const unknown = await t.json('POST', '/workspace/images/pull', { body: { image: 'alpine', tag: 'x' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/unknown parameter 'tag'/);
    const typed = await t.json('POST', '/workspace/images/pull', { body: { image: 'alpine', insecure: 'yes' } });
    expect(typed.status).toBe(400);
    const half = await t.json('POST', '/workspace/images/pull', { body: { image: 'alpine', username: 'me' } });
    expect(half.status).toBe(400);
    expect(half.body.error).toMatch(/username and password go together/);
    const missing = await t.json('POST', '/workspace/images/pull', { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/missing required parameter 'image'/);
  });

  it('import refuses a body that is not an archive by its type (415), and a declared size over the cap (413)', async () => {
    const json = await t.json('POST', '/workspace/images/import', { auth: operator, body: { a: 1 } });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe('unsupported_media_type');
  });

  it('a create on a driver without a store keeps its behaviour: no pull, ready at once', async () => {
    const res = await t.json('POST', '/workspace', { body: { image: 'python:3.12-slim', wait_ready: false } });
    expect(res.status).toBe(201);
    expect(res.body.workspace).toMatchObject({ ready: true, provisioning: null, status: 'running', image: 'python:3.12-slim' });
    await t.json('DELETE', `/workspace/${res.body.workspace.id}`);
  });

  it('retrying a provisioning that did not fail is 409; another account’s workspace is 404', async () => {
    const id = await t.createWorkspace();
    const retry = await t.json('POST', `/workspace/${id}/provisioning/retry`);
    expect(retry.status).toBe(409);
    const other = await t.newClient('mallory');
    expect((await t.json('POST', `/workspace/${id}/provisioning/retry`, { auth: other })).status).toBe(404);
    await t.json('DELETE', `/workspace/${id}`);
  });

  it('documents every image route in the OpenAPI document', async () => {
    const doc = (await t.json('GET', '/openapi.json', { auth: null })).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/workspace/images',
        '/workspace/images/pull',
        '/workspace/images/import',
        '/workspace/images/{ref}',
        '/workspace/{id}/provisioning/retry',
      ]),
    );
    expect(Object.keys(doc.paths['/workspace/images/{ref}'])).toEqual(expect.arrayContaining(['get', 'delete']));
    expect(doc.paths['/workspace/images/pull'].post.requestBody.content['application/json'].schema.required).toEqual(['image']);
  });
});

// ---- The same routes over the sandbox driver's real image store, a registry on loopback ----

const SLOT = 50;
/** The import cap of the sandbox stack: the test image's archives are about 1 MiB. */
const IMPORT_CAP = 8 * 1024 * 1024;
const sandbox = driverVariants().find((v) => v.kind === 'sandbox') as DriverVariant;

describe.skipIf(sandbox.skip)(`images over the sandbox driver's store (${sandbox.title})`, () => {
  let s: TestStack;
  let images: TestImages;
  let imagesDir: string;
  let importTmp: string;
  let op: Client;
  /** Pushed once: `<registry>/cove/app:1`. */
  let pushed: string;

  beforeAll(async () => {
    images = await makeTestImages();
    imagesDir = await mkdtemp('/var/tmp/cove-api-store-');
    importTmp = await mkdtemp(path.join(os.tmpdir(), 'cove-import-tmp-'));
    s = await startTestStack('sandbox', SLOT, { imagesDir, imageImport: { maxBytes: IMPORT_CAP, tmpDir: importTmp } });
    op = await s.newClient('default');
    pushed = await images.push('cove/app:1');
  }, 300_000);
  afterAll(async () => {
    await s?.close();
    await images?.close();
    await rm(imagesDir, { recursive: true, force: true });
    await rm(importTmp, { recursive: true, force: true });
  }, 120_000);

  /** `POST /workspace/images/import` with raw bytes (the helper's `request` sends JSON). */
  const upload = (query: string, body: Buffer | string, contentType = 'application/x-tar') =>
    fetch(`${s.url}/workspace/images/import${query}`, {
      method: 'POST',
      headers: { 'x-client-id': op.clientId, 'x-client-secret': op.clientSecret, 'content-type': contentType },
      body,
    });

  /** Polls a workspace as the official SDK does (every 2 s there; faster here) until it is ready or has failed. */
  async function settle(id: string): Promise<Body> {
    for (;;) {
      const ws = (await s.json('GET', `/workspace/${id}`)).body.workspace;
      if (ws.ready || ws.provisioning?.state === 'failed') return ws;
      await delay(100);
    }
  }

  it('pulls from the registry (plain HTTP on loopback) and lists the image with its config', async () => {
    const res = await s.json('POST', '/workspace/images/pull', { body: { image: pushed } });
    expect(res.status).toBe(200);
    expect(res.body.image).toMatchObject({
      id: expect.stringMatching(/^sha256:[a-f0-9]{64}$/),
      image: pushed,
      label: pushed,
      name: pushed,
      references: [pushed],
      digest: expect.stringMatching(/^sha256:/),
      source: 'pulled',
      layers: 1,
      size: expect.any(Number),
      desc: expect.stringContaining(`pulled from ${images.registry.host}`),
      category: 'custom',
      config: { env: [...TEST_IMAGE_CONFIG.Env, 'IMAGE=cove/app:1'], working_dir: '/srv/app', user: null, entrypoint: null, cmd: null },
    });
    expect(res.body.image.size).toBeGreaterThan(500_000);
    const list = (await s.json('GET', '/workspace/images')).body.images;
    expect(list.map((i: { image: string }) => i.image)).toEqual(expect.arrayContaining(['host', 'debian:12', pushed]));
    const found = await s.json('GET', `/workspace/images?search=${encodeURIComponent(images.registry.host)}&category=custom`);
    expect(found.body.images.map((i: { id: string }) => i.id)).toEqual([res.body.image.id]);
    const byId = await s.json('GET', `/workspace/images/${encodeURIComponent(res.body.image.id)}`);
    expect(byId.body.image.name).toBe(pushed);
    // The reference with its slashes as they are, too.
    expect((await s.json('GET', `/workspace/images/${pushed}`)).body.image.id).toBe(res.body.image.id);
    expect((await s.json('GET', '/workspace/images?category=os')).body.images.map((i: { id: string }) => i.id)).toEqual(
      expect.arrayContaining(['host', 'debian-12']),
    );
  });

  it('streams a pull as NDJSON: progress lines, then the result; a failing pull ends with its error and status', async () => {
    const ref = await images.push('cove/streamed:2');
    const res = await s.request('POST', '/workspace/images/pull', { body: { image: ref }, headers: { accept: 'application/x-ndjson' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Body);
    const last = lines.pop();
    expect(last).toMatchObject({ success: true, image: { name: ref, source: 'pulled' } });
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines)
      expect(l).toMatchObject({ phase: expect.stringMatching(/^(resolving|downloading|unpacking|done)$/), message: expect.any(String) });

    const missing = await s.request('POST', '/workspace/images/pull', {
      body: { image: `${images.registry.host}/cove/nope:1` },
      headers: { accept: 'application/x-ndjson' },
    });
    const end = JSON.parse((await missing.text()).trim().split('\n').pop() as string);
    expect(end).toMatchObject({ success: false, code: 'not_found', status: 404 });
  });

  it('concurrent pulls of one reference share one and agree; the store is whole afterwards', async () => {
    const ref = await images.push('cove/concurrent:1');
    const results = await Promise.all([1, 2, 3, 4].map(() => s.json('POST', '/workspace/images/pull', { body: { image: ref } })));
    for (const r of results) expect(r.status).toBe(200);
    expect(new Set(results.map((r) => r.body.image.id)).size).toBe(1);
    expect((await s.json('GET', `/workspace/images/${encodeURIComponent(ref)}`)).status).toBe(200);
  });

  it('imports a tar of an OCI layout and a docker save archive, named or by their own names', async () => {
    const oci = await upload('?name=local/oci:1', await readFile(await images.ociTar()));
    const ociBody = (await oci.json()) as Body;
    expect(oci.status, JSON.stringify(ociBody)).toBe(200);
    expect(ociBody.images).toEqual([expect.objectContaining({ name: 'docker.io/local/oci:1', image: 'local/oci:1', source: 'imported' })]);

    const docker = await upload('', await readFile(await images.dockerArchive('saved/app:7')), 'application/octet-stream');
    const dockerBody = (await docker.json()) as Body;
    expect(docker.status, JSON.stringify(dockerBody)).toBe(200);
    expect(dockerBody.images.map((i: { image: string }) => i.image)).toEqual(['saved/app:7']);
    // One image under every name: the layers are the same blobs.
    expect(dockerBody.images[0].id).toBe(ociBody.images[0].id);
    expect(await readdir(importTmp)).toEqual([]);
  });

  it('refuses bad archives (400), oversized ones (413, declared or streamed), and leaves no temporary file', async () => {
    const post = (body: Buffer | string, headers: Record<string, string> = {}) =>
      s.request('POST', '/workspace/images/import?name=bad/x:1', {
        auth: op,
        body,
        headers: { 'content-type': 'application/x-tar', ...headers },
      });
    const random = await post(randomBytes(64 * 1024));
    expect(random.status).toBe(400);
    const refusal = (await random.json()) as Record<string, string>;
    expect(refusal.code).toBe('bad_request');
    // The message names the archive, not where the server kept it.
    expect(refusal.error).toContain('the archive');
    expect(refusal.error).not.toContain(importTmp);
    const notImage = await post(await tarOf(images.dir, { 'readme.txt': 'not an image' }));
    expect(notImage.status).toBe(400);
    const empty = await post('');
    expect(empty.status).toBe(400);
    // Declared too large: refused before a byte is read.
    const declared = await rawUpload(s.url, op, IMPORT_CAP + 1, IMPORT_CAP + 1);
    expect(declared.status).toBe(413);
    // Streamed (chunked, no length) past the cap: cut there.
    const streamed = await rawUpload(s.url, op, undefined, IMPORT_CAP + 512 * 1024);
    expect(streamed.status).toBe(413);
    expect(streamed.body).toMatchObject({ success: false, code: 'payload_too_large' });
    expect(await readdir(importTmp)).toEqual([]);
    expect((await s.json('GET', '/workspace/images')).status).toBe(200);
    expect((await s.json('GET', '/workspace/images/bad%2Fx%3A1')).status).toBe(404);
  });

  it('creates a workspace from an image the store lacks: the create waits for the pull, the image config applies', async () => {
    const ref = await images.push('cove/waited:1');
    const res = await s.json('POST', '/workspace', { body: { ...sandbox.workspace, image: ref } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.workspace).toMatchObject({ ready: true, provisioning: null, status: 'running', image: ref });
    expect((await s.json('GET', `/workspace/images/${encodeURIComponent(ref)}`)).status).toBe(200);
    expect(await readFile(s.hostPath(res.body.workspace.id, '/srv/app/hello.txt'), 'utf8')).toBe('hello from a pulled layer\n');
    // In use: removal needs force.
    const busy = await s.json('DELETE', `/workspace/images/${encodeURIComponent(ref)}`, { auth: op });
    expect(busy.status).toBe(409);
    await s.json('DELETE', `/workspace/${res.body.workspace.id}`);
    const removed = await s.json('DELETE', `/workspace/images/${encodeURIComponent(ref)}`, { auth: op });
    expect(removed.body).toEqual({ success: true, image: ref, deleted: true });
    expect((await s.json('GET', `/workspace/images/${encodeURIComponent(ref)}`)).status).toBe(404);
  });

  it('with wait_ready false answers at once with provisioning, then boots; idempotency keys still hold', async () => {
    const ref = await images.push('cove/async:1');
    const body = { ...sandbox.workspace, image: ref, wait_ready: false, idempotency_key: `k-${Date.now()}` };
    const res = await s.json('POST', '/workspace', { body });
    expect(res.status).toBe(201);
    const ws = res.body.workspace;
    expect(ws).toMatchObject({ ready: false, status: 'stopped', provisioning: { state: 'running', phase: 'preparing', error: null } });
    expect(ws.provisioning.message).toContain(ref);
    const again = await s.json('POST', '/workspace', { body });
    expect(again.body.workspace.id).toBe(ws.id);
    const done = await settle(ws.id);
    expect(done).toMatchObject({ ready: true, provisioning: null, status: 'running', info: { is_running: true } });
    await s.json('DELETE', `/workspace/${ws.id}`);
  });

  it('a failed pull leaves the workspace failed with the error and nothing made in the driver; retry runs it again', async () => {
    const ref = `${images.registry.host}/cove/later:1`;
    const res = await s.json('POST', '/workspace', { body: { ...sandbox.workspace, image: ref, wait_ready: false } });
    expect(res.status).toBe(201);
    const id = res.body.workspace.id;
    const failed = await settle(id);
    expect(failed).toMatchObject({
      ready: false,
      status: 'stopped',
      provisioning: { state: 'failed', phase: 'failed', error: { code: 'not_found', message: expect.stringContaining('cove/later') } },
    });
    expect(() => s.hostPath(id, '/')).toThrow(/no sandbox workspace/);
    // Now the image exists: retry provisions it.
    await images.push('cove/later:1');
    const retried = await s.json('POST', `/workspace/${id}/provisioning/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.workspace.provisioning).toMatchObject({ state: 'running' });
    expect(await settle(id)).toMatchObject({ ready: true, status: 'running', provisioning: null });
    await s.json('DELETE', `/workspace/${id}`);
  });

  it('a waiting create whose pull fails answers the error and leaves no workspace; a bad reference is 400', async () => {
    const before = (await s.json('GET', '/workspace')).body.total;
    const missing = await s.json('POST', '/workspace', { body: { ...sandbox.workspace, image: `${images.registry.host}/cove/absent:1` } });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, code: 'not_found' });
    const bad = await s.json('POST', '/workspace', { body: { ...sandbox.workspace, image: '../../etc', wait_ready: false } });
    expect(bad.status).toBe(400);
    expect((await s.json('GET', '/workspace')).body.total).toBe(before);
  });

  it('a workspace deleted while its image is pulled is never made', async () => {
    const ref = await images.push('cove/deleted:1');
    const res = await s.json('POST', '/workspace', { body: { ...sandbox.workspace, image: ref, wait_ready: false } });
    const id = res.body.workspace.id;
    expect((await s.json('DELETE', `/workspace/${id}`)).status).toBe(200);
    // The pull finishes (the image lands in the store); the workspace does not come back.
    for (let i = 0; i < 600 && (await s.json('GET', `/workspace/images/${encodeURIComponent(ref)}`)).status !== 200; i++) await delay(100);
    await delay(500);
    expect((await s.json('GET', `/workspace/${id}`)).status).toBe(404);
    expect(() => s.hostPath(id, '/')).toThrow(/no sandbox workspace/);
  });
});

/** A tar of `files` (name → text), made with GNU tar in a scratch directory under `dir`. */
async function tarOf(dir: string, files: Record<string, string>): Promise<Buffer> {
  const scratch = await mkdtemp(path.join(dir, 'tar-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(scratch, name), text);
  const out = path.join(scratch, '..', `${path.basename(scratch)}.tar`);
  await new Promise<void>((resolve, reject) => execFile('tar', ['-C', scratch, '-cf', out, '.'], (err) => (err ? reject(err) : resolve())));
  return readFile(out);
}

/**
 * Uploads `size` zero bytes to the import route, with `declared` as Content-Length (or chunked), and reads
 * the answer even when the server answers before the body is all sent (it then closes the connection).
 */
function rawUpload(base: string, client: Client, declared: number | undefined, size: number): Promise<{ status: number; body: unknown }> {
  const url = new URL('/workspace/images/import?name=big/x:1', base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      'x-client-id': client.clientId,
      'x-client-secret': client.clientSecret,
      'content-type': 'application/x-tar',
    };
    if (declared !== undefined) headers['content-length'] = declared;
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    // The server may close while we still send: that is the point.
    req.on('error', (err) =>
      (err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err),
    );
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(chunk.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    req.on('socket', () => pump());
  });
}
