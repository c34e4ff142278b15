import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

let t: TestAgent;
const q = encodeURIComponent;
const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  t = await startTestAgent();
});
afterAll(async () => {
  await t.close();
});

describe('GET /files/stat', () => {
  it('describes a file in the reference shape', async () => {
    const file = path.join(t.workdir, 'main.go');
    await writeFile(file, 'x'.repeat(1234));
    await chmod(file, 0o644);
    await utimes(file, new Date('2025-01-15T10:30:00Z'), new Date('2025-01-15T10:30:00.789Z'));
    const { status, body } = await t.json('GET', `/files/stat?path=${q(file)}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      success: true,
      path: file,
      name: 'main.go',
      type: 'file',
      size: 1234,
      modified: '2025-01-15T10:30:00Z',
      permissions: '0644',
      is_code: true,
      extension: '.go',
    });
  });

  it('reports a symlink as itself, with its target, like the reference', async () => {
    const link = path.join(t.workdir, 'link');
    await symlink(path.join(t.workdir, 'main.go'), link);
    const { body } = await t.json('GET', `/files/stat?path=${q(link)}`);
    expect(body).toMatchObject({
      success: true,
      name: 'link',
      type: 'symlink',
      size: 0,
      permissions: '0777',
      is_code: false,
      symlink_target: path.join(t.workdir, 'main.go'),
    });
    expect(body).not.toHaveProperty('extension');
    const dangling = path.join(t.workdir, 'dangling');
    await symlink('/no/such/target', dangling);
    expect((await t.json('GET', `/files/stat?path=${q(dangling)}`)).body).toMatchObject({
      type: 'symlink',
      symlink_target: '/no/such/target',
    });
  });

  it('describes directories, non-code files and /', async () => {
    await mkdir(path.join(t.workdir, 'd'), { mode: 0o700 });
    await chmod(path.join(t.workdir, 'd'), 0o700);
    expect((await t.json('GET', `/files/stat?path=${q(path.join(t.workdir, 'd/'))}`)).body).toMatchObject({
      type: 'directory',
      name: 'd',
      permissions: '0700',
      is_code: false,
    });
    await writeFile(path.join(t.workdir, 'photo.PNG'), '');
    expect((await t.json('GET', `/files/stat?path=${q(path.join(t.workdir, 'photo.PNG'))}`)).body).toMatchObject({
      is_code: false,
      extension: '.png',
    });
    expect((await t.json('GET', '/files/stat?path=/')).body).toMatchObject({ path: '/', name: '/', type: 'directory' });
  });

  it('404s on a missing path, 400s on bad input', async () => {
    expect((await t.json('GET', `/files/stat?path=${q(path.join(t.workdir, 'nope'))}`)).status).toBe(404);
    expect((await t.json('GET', '/files/stat')).status).toBe(400);
    expect((await t.json('GET', '/files/stat?path=a%00b')).status).toBe(400);
  });
});

describe('DELETE|POST /files/delete', () => {
  it('deletes a file by query (DELETE) and by body (POST, the SDK)', async () => {
    const a = path.join(t.workdir, 'a.txt');
    const b = path.join(t.workdir, 'b.txt');
    await writeFile(a, 'a');
    await writeFile(b, 'b');
    const byQuery = await t.json('DELETE', `/files/delete?path=${q(a)}`);
    expect(byQuery).toMatchObject({ status: 200, body: { success: true, path: a } });
    const byBody = await t.json('POST', '/files/delete', { body: { path: b } });
    expect(byBody).toMatchObject({ status: 200, body: { success: true, path: b } });
    const deleteWithBody = await t.json('DELETE', '/files/delete', { body: { path: path.join(t.workdir, 'none') } });
    expect(deleteWithBody.status).toBe(404);
    expect(await exists(a)).toBe(false);
    expect(await exists(b)).toBe(false);
  });

  it('deletes directories recursively', async () => {
    const dir = path.join(t.workdir, 'tree');
    await mkdir(path.join(dir, 'x', 'y'), { recursive: true });
    await writeFile(path.join(dir, 'x', 'y', 'z'), 'z');
    expect((await t.json('DELETE', `/files/delete?path=${q(`${dir}/`)}`)).status).toBe(200);
    expect(await exists(dir)).toBe(false);
  });

  it('removes a link, never what it points to, and never descends through links', async () => {
    const keep = path.join(t.workdir, 'precious');
    await mkdir(keep);
    await writeFile(path.join(keep, 'data'), 'keep me');
    const link = path.join(t.workdir, 'to-precious');
    await symlink(keep, link);
    expect((await t.json('DELETE', `/files/delete?path=${q(`${link}/`)}`)).status).toBe(200);
    expect(await exists(link)).toBe(false);
    const tree = path.join(t.workdir, 'with-link');
    await mkdir(tree);
    await symlink(keep, path.join(tree, 'inner'));
    expect((await t.json('DELETE', `/files/delete?path=${q(tree)}`)).status).toBe(200);
    expect(await exists(tree)).toBe(false);
    expect(await readFile(path.join(keep, 'data'), 'utf8')).toBe('keep me');
  });

  // Refusals of protected paths over HTTP run only in a read-only mount namespace: see protected-namespace.test.ts.

  it('answers 404, 400 for missing or bad paths', async () => {
    expect((await t.json('DELETE', `/files/delete?path=${q(path.join(t.workdir, 'ghost'))}`)).status).toBe(404);
    expect((await t.json('DELETE', `/files/delete?path=${q(path.join(t.workdir, 'ghost', 'child'))}`)).status).toBe(404);
    const none = await t.json('DELETE', '/files/delete');
    expect(none).toMatchObject({ status: 400, body: { error: "invalid parameter 'path': is required (in the query or the body)" } });
    expect((await t.json('POST', '/files/delete', { body: { path: 42 } })).status).toBe(400);
    expect((await t.json('POST', '/files/delete', { body: { path: 'x\u0000' } })).status).toBe(400);
    expect((await t.json('PUT', '/files/delete')).status).toBe(405);
  });
});

describe('POST /files/move', () => {
  it('renames a file and a directory', async () => {
    const src = path.join(t.workdir, 'm1.txt');
    await writeFile(src, 'one');
    const dst = path.join(t.workdir, 'm2.txt');
    const { status, body } = await t.json('POST', '/files/move', { body: { source: src, destination: dst } });
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, source: src, destination: dst });
    expect(await readFile(dst, 'utf8')).toBe('one');
    await mkdir(path.join(t.workdir, 'mdir', 'in'), { recursive: true });
    const moved = await t.json('POST', '/files/move', { body: { source: 'mdir', destination: 'new/place', create_dirs: true } });
    expect(moved.status).toBe(200);
    expect((await stat(path.join(t.workdir, 'new', 'place', 'in'))).isDirectory()).toBe(true);
  });

  it('409s when the destination exists, replaces it with overwrite', async () => {
    const a = path.join(t.workdir, 'ow-a');
    const b = path.join(t.workdir, 'ow-b');
    await writeFile(a, 'A');
    await mkdir(b);
    await writeFile(path.join(b, 'inside'), 'x');
    const conflict = await t.json('POST', '/files/move', { body: { source: a, destination: b } });
    expect(conflict).toMatchObject({ status: 409, body: { success: false, code: 'already_exists' } });
    const replaced = await t.json('POST', '/files/move', { body: { source: a, destination: b, overwrite: true } });
    expect(replaced.status).toBe(200);
    expect(await readFile(b, 'utf8')).toBe('A');
  });

  it('refuses moves into itself and missing sources or parents', async () => {
    await writeFile(path.join(t.workdir, 'victim'), 'v');
    await mkdir(path.join(t.workdir, 'self'));
    const into = await t.json('POST', '/files/move', { body: { source: 'self', destination: 'self/child' } });
    expect(into.status).toBe(400);
    expect((await t.json('POST', '/files/move', { body: { source: 'ghost', destination: 'x' } })).status).toBe(404);
    expect((await t.json('POST', '/files/move', { body: { source: 'victim', destination: 'no/parent' } })).status).toBe(404);
    expect((await t.json('POST', '/files/move', { body: { source: 'victim' } })).body).toMatchObject({
      error: "missing required parameter 'destination'",
    });
  });

  it('moves files and trees across file systems (copy, then delete), links kept as links', async () => {
    const other = await mkdtemp('/dev/shm/cove-move-');
    try {
      await mkdir(path.join(t.workdir, 'xfs', 'sub'), { recursive: true });
      await writeFile(path.join(t.workdir, 'xfs', 'sub', 'f'), 'cross');
      await symlink('sub/f', path.join(t.workdir, 'xfs', 'ln'));
      const res = await t.json('POST', '/files/move', { body: { source: 'xfs', destination: path.join(other, 'xfs') } });
      expect(res.status).toBe(200);
      expect(await readFile(path.join(other, 'xfs', 'sub', 'f'), 'utf8')).toBe('cross');
      expect(await readlink(path.join(other, 'xfs', 'ln'))).toBe('sub/f');
      expect(await exists(path.join(t.workdir, 'xfs'))).toBe(false);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('moves a link as a link', async () => {
    await writeFile(path.join(t.workdir, 'tgt'), 't');
    await symlink('tgt', path.join(t.workdir, 'lnk'));
    expect((await t.json('POST', '/files/move', { body: { source: 'lnk', destination: 'lnk2' } })).status).toBe(200);
    expect(await readlink(path.join(t.workdir, 'lnk2'))).toBe('tgt');
  });
});

describe('authentication', () => {
  it('answers 401 on every files endpoint without a valid token', async () => {
    const endpoints: Array<[string, string]> = [
      ['GET', '/files/read?path=/etc/hostname'],
      ['POST', '/files/write'],
      ['PUT', '/files/write'],
      ['POST', '/files/mkdir'],
      ['GET', '/files/stat?path=/'],
      ['DELETE', '/files/delete?path=/tmp/x'],
      ['POST', '/files/delete'],
      ['POST', '/files/move'],
      ['GET', '/files/download?path=/etc/hostname'],
      ['PUT', '/files/upload?path=/tmp/x'],
      ['POST', '/files/transfer/download'],
      ['POST', '/files/transfer/upload'],
    ];
    for (const [method, url] of endpoints) {
      for (const authorization of [undefined, 'Bearer wrong']) {
        const res = await fetch(t.url + url, { method, headers: authorization ? { authorization } : {} });
        expect(res.status, `${method} ${url}`).toBe(401);
        expect(await res.json()).toMatchObject({ success: false, code: 'unauthorized' });
      }
    }
  });
});
