import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

let t: TestAgent;
const q = encodeURIComponent;
const bytes = randomBytes(3 * 1024 * 1024 + 17);

beforeAll(async () => {
  t = await startTestAgent();
  await writeFile(path.join(t.workdir, 'blob.bin'), bytes);
  await writeFile(path.join(t.workdir, 'page.html'), '<p>hi</p>');
  await writeFile(path.join(t.workdir, 'empty'), '');
  await mkdir(path.join(t.workdir, 'dir'));
});
afterAll(async () => {
  await t.close();
});

describe('GET /files/download', () => {
  it('streams the raw bytes with length, type and Accept-Ranges', async () => {
    const res = await t.request('GET', `/files/download?path=${q(path.join(t.workdir, 'blob.bin'))}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''blob.bin");
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    const html = await t.request('GET', '/files/download?path=page.html');
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const empty = await t.request('GET', '/files/download?path=empty');
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-length')).toBe('0');
    expect(await empty.text()).toBe('');
  });

  it('serves ranges with 206 and Content-Range', async () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-', 1000, bytes.length - 1],
      ['bytes=-500', bytes.length - 500, bytes.length - 1],
      [`bytes=10-${bytes.length + 1000}`, 10, bytes.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await t.request('GET', '/files/download?path=blob.bin', { headers: { range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${bytes.length}`);
      expect(res.headers.get('content-length'), range).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it('416s unsatisfiable or malformed byte ranges, ignores other units and multi-ranges', async () => {
    for (const range of [`bytes=${bytes.length}-`, 'bytes=50-10', 'bytes=abc', 'bytes=-0', 'bytes=-']) {
      const res = await t.request('GET', '/files/download?path=blob.bin', { headers: { range } });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range'), range).toBe(`bytes */${bytes.length}`);
      expect(await res.json()).toMatchObject({ success: false, code: 'range_not_satisfiable' });
    }
    for (const range of ['items=0-1', 'bytes=0-1,5-6']) {
      const res = await t.request('GET', '/files/download?path=blob.bin', { headers: { range } });
      expect(res.status, range).toBe(200);
      await res.arrayBuffer();
    }
    const emptyRange = await t.request('GET', '/files/download?path=empty', { headers: { range: 'bytes=0-' } });
    expect(emptyRange.status).toBe(416);
  });

  it('answers 404, 400 for missing files, directories, devices and bad paths', async () => {
    expect((await t.json('GET', '/files/download?path=nope')).status).toBe(404);
    expect((await t.json('GET', '/files/download?path=dir')).status).toBe(400);
    expect((await t.json('GET', '/files/download?path=/dev/zero')).status).toBe(400);
    expect((await t.json('GET', '/files/download')).status).toBe(400);
    expect((await t.json('GET', '/files/download?path=%00')).status).toBe(400);
  });

  it('handles files of several GiB: length, ranges past 4 GiB, and a 413 for a whole-file read', async () => {
    // Sparse: 5 GiB of size, a few bytes of disk.
    const file = path.join(t.workdir, 'huge.img');
    const fh = await open(file, 'w');
    const size = 5 * 1024 ** 3;
    await fh.write(Buffer.from('TAIL'), 0, 4, size - 4);
    await fh.close();
    const head = await t.request('HEAD', '/files/download?path=huge.img');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(size));
    const tail = await t.request('GET', '/files/download?path=huge.img', { headers: { range: 'bytes=-4' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes ${size - 4}-${size - 1}/${size}`);
    expect(await tail.text()).toBe('TAIL');
    const read = await t.json('GET', '/files/read?path=huge.img');
    expect(read.status).toBe(413);
  });

  it('survives a client that goes away mid-download', async () => {
    const controller = new AbortController();
    const res = await t.request('GET', '/files/download?path=blob.bin');
    const reader = res.body?.getReader();
    await reader?.read();
    controller.abort();
    await reader?.cancel();
    const again = await t.request('GET', '/files/download?path=page.html');
    expect(await again.text()).toBe('<p>hi</p>');
  });
});

describe('PUT|POST /files/upload', () => {
  it('round-trips binary bytes exactly through upload and download', async () => {
    const payload = randomBytes(5 * 1024 * 1024 + 3);
    const res = await t.json('PUT', `/files/upload?path=${q('up/data.bin')}&create_dirs=true`, {
      body: payload,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ success: true, path: path.join(t.workdir, 'up', 'data.bin'), size: payload.length });
    const down = await t.request('GET', '/files/download?path=up/data.bin');
    expect(Buffer.from(await down.arrayBuffer()).equals(payload)).toBe(true);
  });

  it('streams a chunked body of unknown length, with any or no content type', async () => {
    const parts = [randomBytes(100_000), randomBytes(1), randomBytes(70_000)];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of parts) controller.enqueue(p);
        controller.close();
      },
    });
    const res = await fetch(`${t.url}/files/upload?path=chunked.bin&mode=0600`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(201);
    expect(await readFile(path.join(t.workdir, 'chunked.bin'))).toEqual(Buffer.concat(parts));
    expect(((await stat(path.join(t.workdir, 'chunked.bin'))).mode & 0o777).toString(8)).toBe('600');
    const json = await t.json('PUT', '/files/upload?path=j.json', { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(201);
    expect(await readFile(path.join(t.workdir, 'j.json'), 'utf8')).toBe('{"a":1}');
  });

  it('refuses bad targets and parameters, leaving no temporary files', async () => {
    expect((await t.json('PUT', '/files/upload?path=missing/x.bin', { body: 'x' })).status).toBe(404);
    expect((await t.json('PUT', '/files/upload?path=dir', { body: 'x' })).status).toBe(400);
    expect((await t.json('PUT', '/files/upload?path=f&mode=abc', { body: 'x' })).status).toBe(400);
    expect((await t.json('PUT', '/files/upload', { body: 'x' })).status).toBe(400);
    expect((await readdir(t.workdir)).filter((n) => n.startsWith('.cove-tmp-'))).toEqual([]);
  });
});
