import { chmod, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createAgent, createLogger } from '@cove/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

let t: TestAgent;
const mode = async (p: string) => ((await stat(p)).mode & 0o7777).toString(8).padStart(4, '0');

beforeAll(async () => {
  t = await startTestAgent();
});
afterAll(async () => {
  await t.close();
});

describe('POST|PUT /files/write', () => {
  it('creates a file (201, reference shape) with mode 0644', async () => {
    const file = path.join(t.workdir, 'hello.txt');
    const { status, body } = await t.json('POST', '/files/write', { body: { path: file, content: 'Hello, world!' } });
    expect(status).toBe(201);
    expect(body).toEqual({ success: true, path: file, size: 13 });
    expect(await readFile(file, 'utf8')).toBe('Hello, world!');
    expect(await mode(file)).toBe('0644');
  });

  it('accepts PUT, and replaces content; size counts bytes, not characters', async () => {
    const file = path.join(t.workdir, 'utf8.txt');
    await writeFile(file, 'old content that is longer');
    const { status, body } = await t.json('PUT', '/files/write', { body: { path: file, content: 'héllo ✓' } });
    expect(status).toBe(201);
    expect(body.size).toBe(Buffer.byteLength('héllo ✓'));
    expect(await readFile(file, 'utf8')).toBe('héllo ✓');
  });

  it('keeps the mode of an existing file unless mode is given', async () => {
    const file = path.join(t.workdir, 'script.sh');
    await writeFile(file, '#!/bin/sh\n');
    await chmod(file, 0o750);
    await t.json('POST', '/files/write', { body: { path: file, content: 'echo hi\n' } });
    expect(await mode(file)).toBe('0750');
    await t.json('POST', '/files/write', { body: { path: file, content: 'echo hi\n', mode: '600' } });
    expect(await mode(file)).toBe('0600');
  });

  it('applies mode exactly on a new file, whatever the umask', async () => {
    const file = path.join(t.workdir, 'exec.sh');
    await t.json('POST', '/files/write', { body: { path: file, content: 'x', mode: '0777' } });
    expect(await mode(file)).toBe('0777');
  });

  it('appends, creating the file if needed', async () => {
    const file = path.join(t.workdir, 'logs', 'out.log');
    const first = await t.json('POST', '/files/write', { body: { path: file, content: 'one\n', append: true, create_dirs: true } });
    expect(first.status).toBe(201);
    const second = await t.json('POST', '/files/write', { body: { path: file, content: 'two\n', append: true } });
    expect(second.body).toEqual({ success: true, path: file, size: 8 });
    expect(await readFile(file, 'utf8')).toBe('one\ntwo\n');
  });

  it('404s on a missing parent without create_dirs, creates it with', async () => {
    const file = path.join(t.workdir, 'a', 'b', 'c.txt');
    const missing = await t.json('POST', '/files/write', { body: { path: file, content: 'x' } });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, code: 'not_found' });
    expect(missing.body.error).toContain('create_dirs');
    const made = await t.json('POST', '/files/write', { body: { path: file, content: 'x', create_dirs: true } });
    expect(made.status).toBe(201);
    expect(await readFile(file, 'utf8')).toBe('x');
  });

  it('400s on a directory at path, or a file as parent', async () => {
    await mkdir(path.join(t.workdir, 'adir'));
    const dir = await t.json('POST', '/files/write', { body: { path: path.join(t.workdir, 'adir'), content: 'x' } });
    expect(dir.status).toBe(400);
    expect(dir.body).toMatchObject({ code: 'bad_request', error: `path is a directory: ${path.join(t.workdir, 'adir')}` });
    await writeFile(path.join(t.workdir, 'plain'), 'x');
    const parent = await t.json('POST', '/files/write', { body: { path: path.join(t.workdir, 'plain', 'child'), content: 'x' } });
    expect(parent.status).toBe(400);
  });

  it('writes through a symlink, keeping the link', async () => {
    const target = path.join(t.workdir, 'real.txt');
    await writeFile(target, 'before');
    await symlink(target, path.join(t.workdir, 'alias.txt'));
    await t.json('POST', '/files/write', { body: { path: path.join(t.workdir, 'alias.txt'), content: 'after' } });
    expect(await readFile(target, 'utf8')).toBe('after');
    await expect(readlink(path.join(t.workdir, 'alias.txt'))).resolves.toBe(target);
  });

  it('writes an empty file and base64 content', async () => {
    const empty = path.join(t.workdir, 'empty');
    expect((await t.json('POST', '/files/write', { body: { path: empty, content: '' } })).body.size).toBe(0);
    const bin = path.join(t.workdir, 'bin.dat');
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    await t.json('POST', '/files/write', { body: { path: bin, content: bytes.toString('base64'), encoding: 'base64' } });
    expect(await readFile(bin)).toEqual(bytes);
  });

  it('leaves no temporary files behind', async () => {
    const dir = path.join(t.workdir, 'clean');
    await mkdir(dir);
    for (let i = 0; i < 5; i++) await t.json('POST', '/files/write', { body: { path: path.join(dir, 'f'), content: String(i) } });
    await t.json('POST', '/files/write', { body: { path: path.join(dir, 'f'), content: 'x', mode: 'bad' } });
    expect(await readdir(dir)).toEqual(['f']);
  });

  it('refuses bad parameters with 400s that name them', async () => {
    const file = path.join(t.workdir, 'p.txt');
    const cases: Array<[unknown, string]> = [
      [{ content: 'x' }, "missing required parameter 'path'"],
      [{ path: file }, "missing required parameter 'content'"],
      [{ path: file, content: { a: 1 } }, "invalid parameter 'content': must be string"],
      [{ path: `${file}\u0000x`, content: 'x' }, "invalid parameter 'path': must not contain NUL bytes"],
      [
        { path: file, content: 'x', mode: 'rwxr--r--' },
        'invalid parameter \'mode\': must be an octal mode between "0000" and "7777", got "rwxr--r--"',
      ],
      [
        { path: file, content: 'x', mode: '0999' },
        'invalid parameter \'mode\': must be an octal mode between "0000" and "7777", got "0999"',
      ],
      [
        { path: file, content: 'x', mode: '77777' },
        'invalid parameter \'mode\': must be an octal mode between "0000" and "7777", got "77777"',
      ],
      [{ path: file, content: 'x', create_dirs: 'yes' }, "invalid parameter 'create_dirs': must be boolean"],
      [{ path: file, content: '%%%', encoding: 'base64' }, "invalid parameter 'content': is not valid base64"],
      [[1, 2], 'request body must be a JSON object'],
    ];
    for (const [body, error] of cases) {
      const res = await t.json('POST', '/files/write', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body, JSON.stringify(body)).toEqual({ success: false, code: 'bad_request', error });
    }
    const malformed = await t.json('POST', '/files/write', { body: '{"path":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'invalid_json' });
  });

  it('answers 413 for content above the body limit and stays up', async () => {
    const agent = await createAgent({
      token: { kind: 'env', value: 'tok' },
      workdir: t.workdir,
      logger: createLogger('silent'),
      bodyLimit: 1024,
    });
    try {
      const url = await agent.listen('127.0.0.1', 0);
      const res = await fetch(`${url}/files/write`, {
        method: 'POST',
        headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
        body: JSON.stringify({ path: path.join(t.workdir, 'huge.txt'), content: 'x'.repeat(5000) }),
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ success: false, code: 'payload_too_large' });
      const after = await fetch(`${url}/health`);
      expect(after.status).toBe(200);
    } finally {
      await agent.close();
    }
  });
});

describe('POST /files/mkdir', () => {
  it('creates a directory and its parents (201) with 0755 by default', async () => {
    const dir = path.join(t.workdir, 'm', 'n', 'o');
    const { status, body } = await t.json('POST', '/files/mkdir', { body: { path: dir } });
    expect(status).toBe(201);
    expect(body).toEqual({ success: true, path: dir });
    expect((await stat(dir)).isDirectory()).toBe(true);
    expect(await mode(dir)).toBe('0755');
  });

  it('applies a mode, succeeds on an existing directory, 409s on a file', async () => {
    const dir = path.join(t.workdir, 'private');
    expect((await t.json('POST', '/files/mkdir', { body: { path: dir, mode: '0700' } })).status).toBe(201);
    expect(await mode(dir)).toBe('0700');
    expect((await t.json('POST', '/files/mkdir', { body: { path: dir } })).status).toBe(201);
    await writeFile(path.join(t.workdir, 'afile'), '');
    const onFile = await t.json('POST', '/files/mkdir', { body: { path: path.join(t.workdir, 'afile') } });
    expect(onFile.status).toBe(409);
    expect(onFile.body).toMatchObject({ code: 'already_exists' });
    const under = await t.json('POST', '/files/mkdir', { body: { path: path.join(t.workdir, 'afile', 'sub') } });
    expect(under.status).toBe(400);
  });

  it('refuses a missing path and a bad mode', async () => {
    expect((await t.json('POST', '/files/mkdir', { body: {} })).body).toEqual({
      success: false,
      code: 'bad_request',
      error: "missing required parameter 'path'",
    });
    const bad = await t.json('POST', '/files/mkdir', { body: { path: path.join(t.workdir, 'q'), mode: '8' } });
    expect(bad.status).toBe(400);
  });
});
