import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_WATCHER_EXCLUDES } from '@cove/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWatchersDomain } from '../../src/watchers/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

let t: TestAgent;
beforeAll(async () => {
  t = await startTestAgent();
});
afterAll(async () => {
  await t.close();
});
afterEach(async () => {
  const { body } = await t.json<{ watchers: Array<{ id: string }> }>('GET', '/watchers');
  for (const w of body.watchers) await t.request('DELETE', `/watchers/${w.id}`);
});

function tree(name: string): string {
  const root = path.join(t.workdir, name);
  for (const dir of ['src/lib', 'src/app', 'docs', 'node_modules/pkg/sub', '.git/objects', 'dist'])
    mkdirSync(path.join(root, dir), { recursive: true });
  writeFileSync(path.join(root, 'src/index.ts'), 'x');
  return root;
}

describe('POST /watchers', () => {
  it('answers the flat fields and `watcher`, counting watched directories without the excluded ones', async () => {
    const root = tree('create');
    const { status, body } = await t.json('POST', '/watchers', { body: { path: root, excludes: ['*.log', 'docs'] } });
    expect(status).toBe(200);
    const excludes = [...DEFAULT_WATCHER_EXCLUDES, '*.log', 'docs'];
    // root, src, src/lib, src/app: node_modules, .git, dist and docs are excluded.
    const info = { id: expect.stringMatching(/^[1-9][0-9]*$/), root, dirs: 4, dir_count: 4, excludes, active: true };
    expect(body).toEqual({ success: true, ...info, watcher: info });
  });

  it('accepts the official SDK aliases `root` and `exclude`, and merges both exclude lists', async () => {
    const root = tree('aliases');
    const { status, body } = await t.json('POST', '/watchers', { body: { root, exclude: ['lib'], excludes: ['app'] } });
    expect(status).toBe(200);
    // root, src and docs: src/lib and src/app are excluded by name.
    expect(body).toMatchObject({ root, dirs: 3, excludes: [...DEFAULT_WATCHER_EXCLUDES, 'app', 'lib'] });
  });

  it('resolves a relative path against the workdir and normalises it', async () => {
    tree('relative');
    const { status, body } = await t.json('POST', '/watchers', { body: { path: './relative/src/../src/' } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ root: path.join(t.workdir, 'relative/src'), dirs: 3 });
  });

  it('does not repeat a default pattern a client also sends', async () => {
    const root = tree('dupes');
    const { body } = await t.json<{ excludes: string[] }>('POST', '/watchers', { body: { path: root, excludes: ['.git', 'tmp'] } });
    expect(body.excludes).toEqual([...DEFAULT_WATCHER_EXCLUDES, 'tmp']);
  });

  it('hands out decimal ids that are not reused', async () => {
    const root = tree('ids');
    const a = await t.json<{ id: string }>('POST', '/watchers', { body: { path: root } });
    await t.request('DELETE', `/watchers/${a.body.id}`);
    const b = await t.json<{ id: string }>('POST', '/watchers', { body: { path: root } });
    expect(Number(b.body.id)).toBe(Number(a.body.id) + 1);
  });

  it('refuses a missing, empty or wrong-typed path with 400 naming the parameter', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, "missing required parameter 'path'"],
      [{ path: '' }, "missing required parameter 'path'"],
      [{ path: { a: 1 } }, "invalid parameter 'path'"],
      [{ path: ['x', 'y'] }, "invalid parameter 'path'"],
      [{ path: 'a\0b' }, "invalid parameter 'path': must not contain NUL bytes"],
      [{ path: `/${'a'.repeat(5000)}` }, "invalid parameter 'path'"],
      [{ root: 'a\0b' }, "invalid parameter 'root'"],
      [{ path: t.workdir, excludes: { a: 1 } }, "invalid parameter 'excludes'"],
      [{ path: t.workdir, excludes: [{ a: 1 }] }, "invalid parameter 'excludes"],
      [{ path: t.workdir, excludes: Array.from({ length: 300 }, (_, i) => `p${i}`) }, "invalid parameter 'excludes'"],
      [{ path: t.workdir, exclude: ['x'.repeat(2000)] }, "invalid parameter 'exclude"],
      // JSON bodies are never coerced: a number is not a path, a string is not a list.
      [{ path: 42 }, "invalid parameter 'path': must be string"],
      [{ path: true }, "invalid parameter 'path': must be string"],
      [{ path: t.workdir, excludes: '*.log' }, "invalid parameter 'excludes': must be array"],
      [{ path: t.workdir, exclude: 7 }, "invalid parameter 'exclude': must be array"],
    ];
    for (const [body, message] of cases) {
      const res = await t.json<{ error: string }>('POST', '/watchers', { body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body).toMatchObject({ success: false, code: 'bad_request' });
      expect(res.body.error).toContain(message);
    }
  });

  it('refuses malformed JSON with 400', async () => {
    const res = await t.json('POST', '/watchers', { body: '{"path": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false });
  });

  it('treats an empty JSON body as {} (400 for the missing path, not a parse error)', async () => {
    const res = await t.json('POST', '/watchers', { body: '', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "missing required parameter 'path'", code: 'bad_request' });
  });

  it('answers 400 for a file and for a missing path (the reference: 400 for a missing or invalid path)', async () => {
    const file = path.join(t.workdir, 'plain.txt');
    writeFileSync(file, 'x');
    const onFile = await t.json('POST', '/watchers', { body: { path: file } });
    expect(onFile.status).toBe(400);
    expect(onFile.body).toEqual({ success: false, error: `invalid parameter 'path': not a directory: ${file}`, code: 'bad_request' });
    const missing = path.join(t.workdir, 'nope');
    const gone = await t.json('POST', '/watchers', { body: { path: missing } });
    expect(gone.status).toBe(400);
    expect(gone.body).toEqual({ success: false, error: `invalid parameter 'path': directory not found: ${missing}`, code: 'bad_request' });
    const under = await t.json('POST', '/watchers', { body: { path: `${file}/x` } });
    expect(under.status).toBe(400);
    expect((await t.json('GET', '/watchers')).body).toEqual({ success: true, watchers: [] });
  });

  it('allows 5 watchers; the 6th is 409 watcher_limit until one is deleted', async () => {
    const root = tree('limit');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await t.json<{ id: string }>('POST', '/watchers', { body: { path: root } })).body.id);
    const sixth = await t.json('POST', '/watchers', { body: { path: root } });
    expect(sixth.status).toBe(409);
    expect(sixth.body).toEqual({
      success: false,
      error: 'watcher limit reached: at most 5 watchers; delete one first',
      code: 'watcher_limit',
    });
    // Concurrent creates cannot slip past the limit either.
    await t.request('DELETE', `/watchers/${ids[0]}`);
    const burst = await Promise.all(Array.from({ length: 4 }, () => t.json('POST', '/watchers', { body: { path: root } })));
    expect(burst.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
  });
});

describe('GET, DELETE /watchers', () => {
  it('lists watchers with dir_count, gets one with the flat fields and `watcher`, deletes it', async () => {
    const root = tree('crud');
    const created = await t.json<{ id: string }>('POST', '/watchers', { body: { path: root } });
    const id = created.body.id;
    const info = { id, root, dirs: 5, dir_count: 5, excludes: [...DEFAULT_WATCHER_EXCLUDES], active: true };

    expect((await t.json('GET', '/watchers')).body).toEqual({ success: true, watchers: [info] });
    const got = await t.json('GET', `/watchers/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ success: true, ...info, watcher: info });

    const del = await t.json('DELETE', `/watchers/${id}`);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ success: true, watcher_id: id });
    expect((await t.json('GET', '/watchers')).body).toEqual({ success: true, watchers: [] });
  });

  it('answers 404 for an unknown or deleted watcher, 400 for DELETE without an id, 405 for other methods', async () => {
    for (const id of ['999', 'abc', '%2e%2e', 'x'.repeat(900)]) {
      const get = await t.json('GET', `/watchers/${id}`);
      expect(get.status, id).toBe(404);
      expect(get.body).toMatchObject({ success: false, code: 'not_found' });
      expect((await t.json('DELETE', `/watchers/${id}`)).status).toBe(404);
    }
    expect((await t.json('DELETE', '/watchers')).body).toEqual({ success: false, error: 'missing watcher ID', code: 'bad_request' });
    const put = await t.json('PUT', '/watchers');
    expect(put.status).toBe(405);
    const patch = await t.json('PATCH', '/watchers/1');
    expect(patch.status).toBe(405);
  });

  it('requires the token', async () => {
    const res = await fetch(`${t.url}/watchers`);
    expect(res.status).toBe(401);
  });
});

describe('watch limits', () => {
  it('fails a create that would exceed the watch limit with 500 naming fs.inotify.max_user_watches', async () => {
    const capped = await startTestAgent({ domains: [createWatchersDomain({ maxWatchesPerWatcher: 3 })] });
    try {
      mkdirSync(path.join(capped.workdir, 'a/b/c/d'), { recursive: true });
      const res = await capped.json<{ error: string }>('POST', '/watchers', { body: { path: capped.workdir } });
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ success: false, code: 'watcher_failed' });
      expect(res.body.error).toMatch(/^failed to create file watcher: watch limit reached: at most 3 directories per watcher/);
      expect(res.body.error).toContain('fs.inotify.max_user_watches');
      // Nothing was left behind: the slot is free, and a smaller tree works.
      expect((await capped.json('GET', '/watchers')).body).toEqual({ success: true, watchers: [] });
      const ok = await capped.json('POST', '/watchers', { body: { path: path.join(capped.workdir, 'a/b') } });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ dirs: 3 });
    } finally {
      await capped.close();
    }
  });
});
