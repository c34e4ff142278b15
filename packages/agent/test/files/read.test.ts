import { readFileSync } from 'node:fs';
import { mkdir, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesDomain } from '../../src/files/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

let t: TestAgent;
let small: TestAgent;
const q = encodeURIComponent;

beforeAll(async () => {
  t = await startTestAgent();
  small = await startTestAgent({ domains: [createFilesDomain({ maxReadBytes: 1000 })] });
  await writeFile(path.join(t.workdir, 'main.go'), 'package main\n\nfunc main() {\n\tfmt.Println("hello")\n}');
  await writeFile(path.join(t.workdir, 'ten.txt'), Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
  await writeFile(path.join(t.workdir, 'empty.txt'), '');
  await writeFile(path.join(t.workdir, 'crlf.txt'), 'a\r\nb\r\n');
  await mkdir(path.join(t.workdir, 'dir'));
});
afterAll(async () => {
  await t.close();
  await small.close();
});

describe('GET /files/read', () => {
  it('reads a whole file with the reference shape (no range fields)', async () => {
    const file = path.join(t.workdir, 'main.go');
    const { status, body } = await t.json('GET', `/files/read?path=${q(file)}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      success: true,
      path: file,
      content: 'package main\n\nfunc main() {\n\tfmt.Println("hello")\n}',
      size: 51,
      lines: 5,
      extension: '.go',
    });
  });

  it('reads a line range, 1-based and inclusive, keeping line terminators', async () => {
    const file = path.join(t.workdir, 'ten.txt');
    const { status, body } = await t.json('GET', `/files/read?path=${q(file)}&start_line=3&end_line=5`);
    expect(status).toBe(200);
    expect(body).toEqual({
      success: true,
      path: file,
      content: 'line 3\nline 4\nline 5\n',
      size: 71,
      lines: 3,
      extension: '.txt',
      start_line: 3,
      end_line: 5,
    });
  });

  it('prefixes line numbers and a tab', async () => {
    const file = path.join(t.workdir, 'ten.txt');
    const { body } = await t.json('GET', `/files/read?path=${q(file)}&start_line=9&end_line=10&with_line_numbers=true`);
    expect(body.content).toBe('9\tline 9\n10\tline 10\n');
    const whole = await t.json('GET', `/files/read?path=${q(path.join(t.workdir, 'main.go'))}&with_line_numbers=true`);
    expect(whole.body.content).toBe('1\tpackage main\n2\t\n3\tfunc main() {\n4\t\tfmt.Println("hello")\n5\t}');
    expect(whole.body.lines).toBe(5);
  });

  it('accepts only start_line (to the end) or only end_line (from line 1)', async () => {
    const file = q(path.join(t.workdir, 'ten.txt'));
    const from = await t.json('GET', `/files/read?path=${file}&start_line=9`);
    expect(from.body).toMatchObject({ content: 'line 9\nline 10\n', lines: 2, start_line: 9, end_line: 10 });
    const to = await t.json('GET', `/files/read?path=${file}&end_line=2`);
    expect(to.body).toMatchObject({ content: 'line 1\nline 2\n', lines: 2, start_line: 1, end_line: 2 });
  });

  it('returns nothing for a range past the end, and clips a range that overruns it', async () => {
    const file = q(path.join(t.workdir, 'ten.txt'));
    const past = await t.json('GET', `/files/read?path=${file}&start_line=50&end_line=60`);
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ content: '', lines: 0, start_line: 50, end_line: 60 });
    const over = await t.json('GET', `/files/read?path=${file}&start_line=10&end_line=9007199254740991`);
    expect(over.body).toMatchObject({ content: 'line 10\n', lines: 1 });
  });

  it('reads empty files and CRLF files as they are', async () => {
    const empty = await t.json('GET', `/files/read?path=${q(path.join(t.workdir, 'empty.txt'))}`);
    expect(empty.body).toMatchObject({ content: '', size: 0, lines: 0 });
    const crlf = await t.json('GET', `/files/read?path=${q(path.join(t.workdir, 'crlf.txt'))}&start_line=2&end_line=2`);
    expect(crlf.body).toMatchObject({ content: 'b\r\n', lines: 1 });
  });

  it('resolves relative paths against the workdir and folds .. and //', async () => {
    const { status, body } = await t.json('GET', `/files/read?path=${q('dir/..//ten.txt')}`);
    expect(status).toBe(200);
    expect(body.path).toBe(path.join(t.workdir, 'ten.txt'));
  });

  it('reads through a symlink', async () => {
    await symlink(path.join(t.workdir, 'main.go'), path.join(t.workdir, 'link.go'));
    const { body } = await t.json('GET', `/files/read?path=${q(path.join(t.workdir, 'link.go'))}`);
    expect(body).toMatchObject({ lines: 5, size: 51 });
  });

  it('answers 404 for a missing file, 400 for a directory or a device', async () => {
    const missing = await t.json('GET', `/files/read?path=${q(path.join(t.workdir, 'nope.txt'))}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ success: false, code: 'not_found', error: `not found: ${path.join(t.workdir, 'nope.txt')}` });
    const dir = await t.json('GET', `/files/read?path=${q(path.join(t.workdir, 'dir'))}`);
    expect(dir.status).toBe(400);
    expect(dir.body).toMatchObject({ success: false, code: 'bad_request', error: `path is a directory: ${path.join(t.workdir, 'dir')}` });
    const device = await t.json('GET', '/files/read?path=/dev/zero');
    expect(device.status).toBe(400);
    expect(device.body).toMatchObject({ code: 'bad_request', error: 'not a regular file: /dev/zero' });
  });

  it('refuses bad parameters with a 400 naming them', async () => {
    const cases: Array<[string, string]> = [
      ['', "missing required parameter 'path'"],
      ['path=', "invalid parameter 'path': must not be empty"],
      ['path=%00', "invalid parameter 'path': must not contain NUL bytes"],
      [`path=${'a'.repeat(5000)}`, "invalid parameter 'path': longer than 4096 characters"],
      ['path=/x&start_line=0', "invalid parameter 'start_line': must be >= 1"],
      ['path=/x&start_line=-3', "invalid parameter 'start_line': must be >= 1"],
      ['path=/x&end_line=abc', "invalid parameter 'end_line': must be integer"],
      ['path=/x&start_line=1.5', "invalid parameter 'start_line': must be integer"],
      ['path=/x&start_line=5&end_line=2', "invalid parameter 'end_line': must not be less than start_line (5)"],
      ['path=/x&with_line_numbers=maybe', "invalid parameter 'with_line_numbers': must be boolean"],
    ];
    for (const [query, error] of cases) {
      const { status, body } = await t.json('GET', `/files/read?${query}`);
      expect(status, query).toBe(400);
      expect(body, query).toEqual({ success: false, code: 'bad_request', error });
    }
  });

  it('requires the token', async () => {
    const res = await fetch(`${t.url}/files/read?path=/etc/hostname`);
    expect(res.status).toBe(401);
  });

  it('reads files around the synchronous read size (64 KiB), one after another, and files of unknown size', async () => {
    // Multi-byte characters everywhere, so a cut at any byte would show; sizes on both sides of 64 KiB.
    const unit = 'é€😀\n';
    for (const size of [1, 65535, 65536, 65537, 200_000, 3]) {
      const bytes = Buffer.from(unit.repeat(Math.ceil(size / Buffer.byteLength(unit)))).subarray(0, size);
      const file = path.join(t.workdir, `sized-${size}.txt`);
      await writeFile(file, bytes);
      const { status, body } = await t.json('GET', `/files/read?path=${q(file)}`);
      expect(status).toBe(200);
      expect(body.content).toBe(bytes.toString('utf8'));
      expect(body.size).toBe(size);
      expect(body.lines).toBe(bytes.toString('latin1').split('\n').length - (bytes.at(-1) === 0x0a ? 1 : 0));
    }
    // /proc files report size 0: read to their end.
    const proc = await t.json('GET', '/files/read?path=/proc/version');
    expect(proc.status).toBe(200);
    expect(proc.body.content).toBe(readFileSync('/proc/version', 'utf8'));
  });

  it('refuses a whole file above the cap with 413 and points at ranges and download', async () => {
    const file = path.join(small.workdir, 'big.txt');
    await writeFile(file, 'x'.repeat(1500));
    const { status, body } = await small.json('GET', `/files/read?path=${q(file)}`);
    expect(status).toBe(413);
    expect(body).toMatchObject({ success: false, code: 'payload_too_large' });
    expect(body.error).toContain('/files/download');
    expect(body.error).toContain('start_line');
  });

  it('serves a small range of a file far above the cap, and 413 for a range above it', async () => {
    const file = path.join(small.workdir, 'many.txt');
    await writeFile(file, Array.from({ length: 2000 }, (_, i) => `row ${i + 1}`).join('\n'));
    const { status, body } = await small.json('GET', `/files/read?path=${q(file)}&start_line=1000&end_line=1001`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ content: 'row 1000\nrow 1001\n', lines: 2 });
    const last = await small.json('GET', `/files/read?path=${q(file)}&start_line=2000`);
    expect(last.body).toMatchObject({ content: 'row 2000', lines: 1, end_line: 2000 });
    const big = await small.json('GET', `/files/read?path=${q(file)}&start_line=1&end_line=1000`);
    expect(big.status).toBe(413);
  });

  it('does not read past end_line of a huge file (a 200 MiB single-line tail is never scanned)', async () => {
    // Sparse: the head is two short lines, the rest is zeros that take no disk.
    const file = path.join(small.workdir, 'sparse.bin');
    await writeFile(file, 'first\nsecond\n');
    await truncate(file, 200 * 1024 * 1024);
    const { status, body } = await small.json('GET', `/files/read?path=${q(file)}&start_line=1&end_line=2`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ content: 'first\nsecond\n', lines: 2, size: 200 * 1024 * 1024 });
    // Line 3 is the 200 MiB line of zeros: asking for it exceeds the cap instead of exhausting memory.
    const tail = await small.json('GET', `/files/read?path=${q(file)}&start_line=3&end_line=3`);
    expect(tail.status).toBe(413);
  });
});
