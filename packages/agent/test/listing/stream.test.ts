import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListingDomain } from '../../src/listing/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { makeTree } from './fixture.js';

let t: TestAgent;
let dir: string;

const lines = async (query: string) => {
  const res = await t.request('GET', `/files/stream?${query}`);
  const text = await res.text();
  return {
    res,
    text,
    objects: text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
};

beforeAll(async () => {
  t = await startTestAgent({ domains: [createListingDomain()] });
  dir = path.join(t.workdir, 's');
  await makeTree(dir, { 'a.ts': 'A', 'b.md': 'B', sub: { 'c.ts': 'C', deep: { 'd.go': 'D' } }, empty: {} });
});
afterAll(async () => t.close());

describe('GET /files/stream', () => {
  it('writes start, one entry per line (nested and flat), then done with the count', async () => {
    const { res, text, objects } = await lines(`path=${dir}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(text.endsWith('\n')).toBe(true);
    expect(objects[0]).toEqual({ event: 'start', path: dir });
    expect(objects.at(-1)).toEqual({ event: 'done', count: 7 });
    const entries = objects.slice(1, -1);
    expect(entries.map((e) => path.relative(dir, e.path as string)).sort()).toEqual([
      'a.ts',
      'b.md',
      'empty',
      'sub',
      'sub/c.ts',
      'sub/deep',
      'sub/deep/d.go',
    ]);
    const a = entries.find((e) => e.name === 'a.ts');
    expect(a).toEqual({ name: 'a.ts', path: `${dir}/a.ts`, type: 'file', size: 1, modified: expect.any(String) });
    for (const e of entries) expect(e).not.toHaveProperty('children');
    // A directory comes before what is inside it.
    const order = entries.map((e) => e.path as string);
    expect(order.indexOf(`${dir}/sub`)).toBeLessThan(order.indexOf(`${dir}/sub/c.ts`));
  });

  it('applies the same filters as the list (nested/flatten are always on)', async () => {
    const { objects } = await lines(`path=${dir}&nested=false&flatten=false&include_ext=go&include_content=true&light=true`);
    expect(objects.slice(1)).toEqual([
      { name: 'sub', path: `${dir}/sub`, type: 'directory' },
      { name: 'deep', path: `${dir}/sub/deep`, type: 'directory' },
      { name: 'd.go', path: `${dir}/sub/deep/d.go`, type: 'file', content: 'D' },
      { event: 'done', count: 3 },
    ]);
    const shallow = await lines(`path=${dir}&max_depth=1&light=true`);
    expect(shallow.objects.at(-1)).toEqual({ event: 'done', count: 4 });
  });

  it('answers errors before streaming as JSON errors', async () => {
    const { status, body } = await t.json('GET', `/files/stream?path=${dir}/nope`);
    expect(status).toBe(404);
    expect(body).toMatchObject({ success: false, code: 'not_found' });
  });

  it('stops walking when the client disconnects mid-stream, and keeps serving', async () => {
    const big = path.join(t.workdir, 'big');
    for (let i = 0; i < 40; i++) {
      const d = path.join(big, `d${i}`);
      await mkdir(d, { recursive: true });
      await Promise.all(Array.from({ length: 100 }, (_, k) => writeFile(path.join(d, `f${k}.txt`), 'x'.repeat(200))));
    }
    const received = await new Promise<number>((resolve, reject) => {
      const req = http.get(
        `${t.url}/files/stream?path=${big}&include_content=true`,
        { headers: { authorization: `Bearer ${t.token}` } },
        (res) => {
          let bytes = 0;
          res.once('data', (chunk: Buffer) => {
            bytes += chunk.length;
            req.destroy();
            resolve(bytes);
          });
        },
      );
      req.on('error', (err) => {
        if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
      });
    });
    expect(received).toBeGreaterThan(0);
    // The server is still up and answers the next request completely.
    const after = await lines(`path=${dir}&light=true`);
    expect(after.objects.at(-1)).toEqual({ event: 'done', count: 7 });
  });
});
