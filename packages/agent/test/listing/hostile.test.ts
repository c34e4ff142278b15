import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListingDomain } from '../../src/listing/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { type ListBody, makeTree, relPaths } from './fixture.js';

let t: TestAgent;
let dir: string;

beforeAll(async () => {
  t = await startTestAgent({ domains: [createListingDomain()] });
  dir = path.join(t.workdir, 'd');
  await makeTree(dir, { 'a.txt': 'a', sub: { 'b.txt': 'b' } });
});
afterAll(async () => t.close());

const endpoints = ['/files', '/files/stream', '/files/search/files?q=x&'];
const url = (endpoint: string, query: string) => (endpoint.endsWith('&') ? `${endpoint}${query}` : `${endpoint}?${query}`);

describe('wrong parameters are a 400 naming the parameter', () => {
  const cases: Array<[string, string, string]> = [
    ['/files', 'max_depth=abc', 'max_depth'],
    ['/files', 'max_depth=-1', 'max_depth'],
    ['/files', 'max_depth=0', 'max_depth'],
    ['/files', 'max_depth=1.5', 'max_depth'],
    ['/files', 'max_content_budget=-5', 'max_content_budget'],
    ['/files', 'nested=maybe', 'nested'],
    ['/files', 'light=2', 'light'],
    ['/files/stream', 'max_depth=abc', 'max_depth'],
    ['/files/search/files?q=x&', 'max_results=0', 'max_results'],
    ['/files/search/files?q=x&', 'max_results=ten', 'max_results'],
    ['/files/search/files?q=x&', 'case_sensitive=yes!', 'case_sensitive'],
  ];
  for (const [endpoint, query, param] of cases) {
    it(`${endpoint} ${query}`, async () => {
      const { status, body } = await t.json<ListBody>('GET', url(endpoint, `path=${dir}&${query}`));
      expect(status).toBe(400);
      expect(body).toMatchObject({ success: false, code: 'bad_request' });
      expect(body.error).toContain(param);
    });
  }
});

describe('hostile paths', () => {
  it('folds .., // and trailing slashes', async () => {
    for (const p of [`${dir}/sub/..`, `${dir}//`, `${dir}/`, `${dir}/./sub/../`]) {
      const { status, body } = await t.json<ListBody>('GET', `/files?path=${encodeURIComponent(p)}`);
      expect(status, p).toBe(200);
      expect(body.path).toBe(dir);
      expect(relPaths(body.entries, dir)).toEqual(['a.txt', 'sub']);
    }
  });

  for (const endpoint of endpoints) {
    it(`${endpoint}: NUL byte, 5000-char path, missing path, a file`, async () => {
      const nul = await t.json<ListBody>('GET', url(endpoint, `path=${encodeURIComponent(`${dir}\0x`)}`));
      expect(nul.status).toBe(400);
      expect(nul.body.error).toContain('path');
      const long = await t.json<ListBody>('GET', url(endpoint, `path=/${'a'.repeat(5000)}`));
      expect(long.status).toBe(400);
      expect(long.body.error).toContain('path');
      const missing = await t.json<ListBody>('GET', url(endpoint, `path=${dir}/nope`));
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ success: false, code: 'not_found' });
      const file = await t.json<ListBody>('GET', url(endpoint, `path=${dir}/a.txt`));
      expect(file.status).toBe(400);
      expect(file.body).toEqual({ success: false, code: 'bad_request', error: `path is not a directory: ${dir}/a.txt` });
    });
  }

  it('a long component is a 400, not a 500', async () => {
    const { status } = await t.json('GET', `/files?path=${dir}/${'x'.repeat(300)}`);
    expect(status).toBe(400);
  });

  it('survives huge filter values and odd globs', async () => {
    const { status } = await t.json('GET', `/files?path=${dir}&nested=true&ignore_patterns=${encodeURIComponent('[,**/[!,\\,!,#')}`);
    expect(status).toBe(200);
    const tooLong = await t.json('GET', `/files?path=${dir}&path_filter=${'x'.repeat(5000)}`);
    expect(tooLong.status).toBe(400);
  });

  it('a duplicated parameter is a 400', async () => {
    const { status } = await t.json('GET', `/files?path=${dir}&path=/`);
    expect(status).toBe(400);
  });

  it('odd names (newlines, quotes, non-UTF-16-BMP) come back intact and sorted by bytes', async () => {
    const odd = path.join(t.workdir, 'odd');
    await mkdir(odd);
    const names = ['a\nb', 'q"uote', '\u{1F600}', '\uFF01', 'z'];
    for (const n of names) await writeFile(path.join(odd, n), n);
    const { body } = await t.json<ListBody>('GET', `/files?path=${odd}`);
    expect(body.entries.map((e) => e.name)).toEqual(['a\nb', 'q"uote', 'z', '\uFF01', '\u{1F600}']);
  });

  it('needs the token', async () => {
    const res = await fetch(`${t.url}/files?path=${dir}`);
    expect(res.status).toBe(401);
  });
});
