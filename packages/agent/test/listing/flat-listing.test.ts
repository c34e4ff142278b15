import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPlainFlatListing, writeFlatListing } from '../../src/listing/flat-listing.js';
import { inheritedRules } from '../../src/listing/ignore-rules.js';
import { createListingDomain } from '../../src/listing/index.js';
import { parseListQuery } from '../../src/listing/list-options.js';
import { listResponse } from '../../src/listing/listing-routes.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { arbitraryTree, makeTree } from './fixture.js';

// Names chosen to exercise byte order (`a`, `a-b`, `a.b`, `a/…`), JSON escaping and exclusions.
const NAMES = ['a', 'a-b', 'a.b', 'a0', 'B', 'é', '😀', '\uff5e', 'q"x', 'b\\s', 'n\nl', '.hidden', '.git', 'x.ts', 'Y.JS', 'node_modules'];
const GITIGNORES = ['*.ts\n', 'a-b/\n', '/a\n!a.b\n', 'node_modules\n'];

const spec = arbitraryTree(NAMES, GITIGNORES);

const query = fc.record(
  {
    flatten: fc.boolean(),
    nested: fc.boolean(),
    include_extensions: fc.boolean(),
    use_gitignore: fc.boolean(),
    max_depth: fc.integer({ min: 1, max: 4 }),
    ignore_patterns: fc.constantFrom('*.ts', 'a-b', '/a', 'é,B'),
  },
  { requiredKeys: ['flatten', 'nested'] },
);

let base: string;
beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'cove-flat-'));
});
afterAll(async () => rm(base, { recursive: true, force: true }));

describe('writeFlatListing', () => {
  it('writes the same body as the general path, on random trees and options', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(spec, query, fc.integer({ min: 1, max: 30 }), async (tree, q, cap) => {
        const root = path.join(base, `t${n++}`);
        await makeTree(root, tree);
        const options = parseListQuery({ ...q, path: root, light: true }, base, false);
        const flatTree = q.flatten !== true;
        expect(isPlainFlatListing(options, flatTree)).toBe(q.flatten || !q.nested);
        if (!isPlainFlatListing(options, flatTree)) return;
        const inherited = options.useGitignore ? await inheritedRules(root) : undefined;
        const signal = { aborted: false };
        const general = JSON.stringify(await listResponse(options, inherited, flatTree, cap, signal));
        let fast = '';
        await writeFlatListing(options, inherited, cap, signal, () => async (chunk) => {
          fast += chunk;
          return true;
        });
        expect(fast).toBe(general);
      }),
      { numRuns: 150 },
    );
  });

  it('leaves selection filters, stat and file contents to the general path', () => {
    const plain = { path: '/', nested: true, flatten: true, light: true };
    expect(isPlainFlatListing(parseListQuery(plain, '/', false), false)).toBe(true);
    for (const extra of [
      { light: false },
      { path_filter: 'x' },
      { include_ext: 'ts' },
      { code_files_only: true },
      { include_hash: true },
      { include_content: true },
    ]) {
      expect(isPlainFlatListing(parseListQuery({ ...plain, ...extra }, '/', false), false)).toBe(false);
    }
    expect(isPlainFlatListing(parseListQuery(plain, '/', false), true)).toBe(false);
  });
});

describe('GET /files through the flat path', () => {
  let t: TestAgent;
  let root: string;
  beforeAll(async () => {
    t = await startTestAgent({ domains: [createListingDomain({ entryCap: 3 })] });
    root = path.join(t.workdir, 'flat');
    await makeTree(root, { a: { x: '' }, 'a-b': '', b: '' });
  });
  afterAll(async () => t.close());

  it('answers JSON with the cap applied', async () => {
    const res = await t.request('GET', `/files?path=${encodeURIComponent(root)}&nested=true&flatten=true&light=true`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await res.json()) as { entries: Array<{ path: string }>; count: number; truncated?: boolean };
    expect(body.entries.map((e) => path.relative(root, e.path))).toEqual(['a', 'a-b', 'a/x']);
    expect(body.count).toBe(3);
    expect(body.truncated).toBe(true);
  });

  it('still answers 404 for a missing directory', async () => {
    const res = await t.request('GET', `/files?path=${encodeURIComponent(path.join(root, 'nope'))}&flatten=true&light=true`);
    expect(res.status).toBe(404);
  });
});
