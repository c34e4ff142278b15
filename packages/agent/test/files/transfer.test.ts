import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Header } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

let t: TestAgent;
let local: string;
const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  t = await startTestAgent();
  local = await mkdtemp(path.join(os.tmpdir(), 'cove-transfer-'));
  const app = path.join(t.workdir, 'app');
  await mkdir(path.join(app, 'src', 'deep'), { recursive: true });
  await mkdir(path.join(app, 'node_modules', 'dep'), { recursive: true });
  await writeFile(path.join(app, 'src', 'index.ts'), 'export {};\n');
  await writeFile(path.join(app, 'src', 'deep', 'blob.bin'), randomBytes(300_000));
  await writeFile(path.join(app, 'src', 'debug.log'), 'noise');
  await writeFile(path.join(app, 'node_modules', 'dep', 'index.js'), 'x');
  await writeFile(path.join(app, 'package.json'), '{}');
  await symlink('index.ts', path.join(app, 'src', 'alias.ts'));
});
afterAll(async () => {
  await t.close();
  await rm(local, { recursive: true, force: true });
});

/** Builds a tar.gz with system tar from a directory. */
function tarOf(dir: string, ...args: string[]): Buffer {
  return execFileSync('tar', ['-czf', '-', '-C', dir, ...args], { maxBuffer: 64 * 1024 * 1024 });
}

describe('POST /files/transfer/download', () => {
  it('streams a tar.gz of the paths, named from their common parent, with excludes', async () => {
    const res = await t.request('POST', '/files/transfer/download', {
      body: {
        paths: [
          path.join(t.workdir, 'app', 'src'),
          path.join(t.workdir, 'app', 'package.json'),
          path.join(t.workdir, 'app', 'node_modules'),
        ],
        exclude_patterns: ['node_modules', '*.log'],
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    const archive = Buffer.from(await res.arrayBuffer());
    const out = path.join(local, 'pull');
    await mkdir(out);
    execFileSync('tar', ['-xzf', '-', '-C', out], { input: archive });
    expect(await readFile(path.join(out, 'src', 'index.ts'), 'utf8')).toBe('export {};\n');
    expect(await readFile(path.join(out, 'src', 'deep', 'blob.bin'))).toEqual(
      await readFile(path.join(t.workdir, 'app', 'src', 'deep', 'blob.bin')),
    );
    expect(await readFile(path.join(out, 'package.json'), 'utf8')).toBe('{}');
    expect(await readlink(path.join(out, 'src', 'alias.ts'))).toBe('index.ts');
    expect(await exists(path.join(out, 'src', 'debug.log'))).toBe(false);
    expect(await exists(path.join(out, 'node_modules'))).toBe(false);
  });

  it('answers 404 for a missing path and 400 for bad bodies before streaming', async () => {
    expect((await t.json('POST', '/files/transfer/download', { body: { paths: ['/no/such/path'] } })).status).toBe(404);
    expect((await t.json('POST', '/files/transfer/download', { body: { paths: [] } })).status).toBe(400);
    expect((await t.json('POST', '/files/transfer/download', { body: {} })).body).toMatchObject({
      error: "missing required parameter 'paths'",
    });
    expect((await t.json('POST', '/files/transfer/download', { body: { paths: ['a\u0000'] } })).status).toBe(400);
    expect((await t.json('POST', '/files/transfer/download', { body: { paths: ['app'], exclude_patterns: [''] } })).status).toBe(400);
  });
});

describe('POST /files/transfer/upload', () => {
  it('extracts a tar.gz into dest (created if missing) and counts entries', async () => {
    const src = path.join(local, 'push');
    await mkdir(path.join(src, 'lib'), { recursive: true });
    await writeFile(path.join(src, 'lib', 'a.txt'), 'A');
    await writeFile(path.join(src, 'b.bin'), randomBytes(200_000));
    const archive = tarOf(src, '.');
    const res = await t.json('POST', '/files/transfer/upload?dest=uploaded', {
      body: archive,
      headers: { 'content-type': 'application/gzip' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, dest: path.join(t.workdir, 'uploaded'), files_extracted: 4 });
    expect(await readFile(path.join(t.workdir, 'uploaded', 'lib', 'a.txt'), 'utf8')).toBe('A');
    expect(await readFile(path.join(t.workdir, 'uploaded', 'b.bin'))).toEqual(await readFile(path.join(src, 'b.bin')));
  });

  it('round-trips a tree: download then upload elsewhere gives the same bytes', async () => {
    const down = await t.request('POST', '/files/transfer/download', { body: { paths: [path.join(t.workdir, 'app')] } });
    const archive = new Uint8Array(await down.arrayBuffer());
    const up = await t.json('POST', '/files/transfer/upload?dest=copy', { body: archive, headers: { 'content-type': 'application/gzip' } });
    expect(up.status).toBe(200);
    for (const rel of ['src/index.ts', 'src/deep/blob.bin', 'package.json', 'node_modules/dep/index.js']) {
      expect(await readFile(path.join(t.workdir, 'copy', 'app', rel)), rel).toEqual(await readFile(path.join(t.workdir, 'app', rel)));
    }
    expect(await readlink(path.join(t.workdir, 'copy', 'app', 'src', 'alias.ts'))).toBe('index.ts');
  });

  it('accepts a chunked body', async () => {
    const src = path.join(local, 'chunked');
    await mkdir(src);
    await writeFile(path.join(src, 'c.txt'), 'chunked');
    const archive = tarOf(src, 'c.txt');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < archive.length; i += 100) controller.enqueue(archive.subarray(i, i + 100));
        controller.close();
      },
    });
    const res = await fetch(`${t.url}/files/transfer/upload?dest=${encodeURIComponent(path.join(t.workdir, 'ch'))}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/gzip' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(await readFile(path.join(t.workdir, 'ch', 'c.txt'), 'utf8')).toBe('chunked');
  });

  it('refuses entries that escape dest: .., absolute paths, and paths through symlinks', async () => {
    const outside = path.join(t.workdir, 'outside');
    await mkdir(outside);
    const dest = path.join(t.workdir, 'jail');
    await mkdir(dest);
    // A link already in dest that points out of it.
    await symlink(outside, path.join(dest, 'escape'));

    const evil = path.join(local, 'evil');
    await mkdir(path.join(evil, 'escape'), { recursive: true });
    await writeFile(path.join(evil, 'escape', 'pwned'), 'x');
    await writeFile(path.join(evil, 'dotdot'), 'x');
    const attacks: Array<[string, Buffer]> = [
      ['through existing link', tarOf(evil, 'escape/pwned')],
      ['dot-dot', execFileSync('tar', ['-czf', '-', '-C', evil, '--transform', 's,^dotdot,../../outside/dotdot,', 'dotdot'])],
      ['absolute', execFileSync('tar', ['-czf', '-', '-P', '-C', evil, '--transform', `s,^dotdot,${outside}/abs,`, 'dotdot'])],
    ];
    // A link inside the archive, then a file through it.
    const linkTrick = path.join(local, 'linktrick');
    await mkdir(linkTrick);
    await symlink(outside, path.join(linkTrick, 'hop'));
    await mkdir(path.join(local, 'linktrick2', 'hop'), { recursive: true });
    await writeFile(path.join(local, 'linktrick2', 'hop', 'through'), 'x');
    const first = execFileSync('tar', ['-cf', '-', '-C', linkTrick, 'hop']);
    const second = execFileSync('tar', ['-cf', '-', '-C', path.join(local, 'linktrick2'), 'hop/through']);
    // Concatenate the two archives' entries (drop the first's end-of-archive blocks).
    attacks.push(['link then file through it', Buffer.concat([first.subarray(0, 1024), second])]);

    for (const [name, archive] of attacks) {
      const res = await t.json('POST', `/files/transfer/upload?dest=${encodeURIComponent(dest)}`, {
        body: archive,
        headers: { 'content-type': 'application/gzip' },
      });
      expect(res.status, name).toBe(400);
      expect(res.body, name).toMatchObject({ success: false, code: 'bad_request' });
    }
    expect(await exists(path.join(outside, 'pwned'))).toBe(false);
    expect(await exists(path.join(outside, 'dotdot'))).toBe(false);
    expect(await exists(path.join(outside, 'abs'))).toBe(false);
    expect(await exists(path.join(outside, 'through'))).toBe(false);
  });

  it('never hard-links to a file outside dest', async () => {
    const outside = path.join(t.workdir, 'hl-outside');
    await mkdir(outside);
    const target = path.join(outside, 'target');
    await writeFile(target, 'secret');
    const dest = path.join(t.workdir, 'hl-jail');
    for (const linkpath of [target, '../hl-outside/target']) {
      const header = new Header({ path: 'evil', type: 'Link', linkpath, size: 0, mode: 0o644, mtime: new Date() });
      const block = Buffer.alloc(512);
      header.encode(block, 0);
      const archive = Buffer.concat([block, Buffer.alloc(1024)]);
      const res = await t.json('POST', `/files/transfer/upload?dest=${encodeURIComponent(dest)}`, { body: archive });
      expect(res.status, linkpath).toBe(400);
      expect((await stat(target)).nlink, linkpath).toBe(1);
    }
  });

  it('refuses garbage, a file as dest, and stays up', async () => {
    const garbage = await t.json('POST', '/files/transfer/upload?dest=g', {
      body: randomBytes(5000),
      headers: { 'content-type': 'application/gzip' },
    });
    expect(garbage.status).toBe(400);
    await writeFile(path.join(t.workdir, 'plainfile'), '');
    const onFile = await t.json('POST', '/files/transfer/upload?dest=plainfile', {
      body: tarOf(local, '.'),
      headers: { 'content-type': 'application/gzip' },
    });
    expect(onFile.status).toBe(400);
    expect((await t.json('POST', '/files/transfer/upload?dest=%00', { body: 'x' })).status).toBe(400);
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  });
});
