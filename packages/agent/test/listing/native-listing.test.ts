import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPlainFlatListing } from '../../src/listing/flat-listing.js';
import { inheritedRules } from '../../src/listing/ignore-rules.js';
import { createListingDomain } from '../../src/listing/index.js';
import { parseListQuery } from '../../src/listing/list-options.js';
import { listResponse } from '../../src/listing/listing-routes.js';
import { NativeLister, nativeCanList } from '../../src/listing/native-listing.js';
import { createLogger } from '../../src/logger.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { arbitraryTree, makeTree } from './fixture.js';

// `npm ci` builds it (scripts/build-native.mjs); these tests check the walker that ships.
const WALKER = fileURLToPath(new URL('../../native/build/list-walker', import.meta.url));

// Byte order (`a`, `a-b`, `a.b`, `a/…`, `a0`), JSON escapes, multi-byte UTF-8, exclusions.
const NAMES = ['a', 'a-b', 'a.b', 'a0', 'B', 'é', '😀', '\uff5e', 'q"x', 'b\\s', 'n\nl', 't\tab', 'c\u0001', '.hidden', '.git', 'x.ts'];

const GITIGNORES = ['*.ts\n', 'a-b/\n', '/a\n!a.b\n', 'é\n'];

// Directories sometimes hold a .gitignore (the walker hands those to the JavaScript walk).
const spec = arbitraryTree(NAMES, GITIGNORES, 4);

const query = fc.record({
  flatten: fc.boolean(),
  nested: fc.boolean(),
  use_gitignore: fc.boolean(),
  max_depth: fc.integer({ min: 1, max: 4 }),
});

let base: string;
let lister: NativeLister;
beforeAll(async () => {
  await access(WALKER);
  base = await mkdtemp(path.join(tmpdir(), 'cove-native-list-'));
  lister = new NativeLister(createLogger('silent'), WALKER);
});
afterAll(async () => {
  lister.close();
  await rm(base, { recursive: true, force: true });
});

/** The native walker's body, or undefined when it handed the walk back (having written nothing). */
async function native(root: string, q: Record<string, unknown>, cap: number): Promise<string | undefined> {
  const options = parseListQuery({ ...q, path: root, light: true }, base, false);
  let body = '';
  let begun = false;
  const done = await lister.write(options, cap, { aborted: false }, () => {
    begun = true;
    return async (chunk) => {
      body += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    };
  });
  if (!done) {
    expect(begun).toBe(false);
    return undefined;
  }
  return body;
}

async function general(root: string, q: Record<string, unknown>, cap: number): Promise<string> {
  const options = parseListQuery({ ...q, path: root, light: true }, base, false);
  const inherited = options.useGitignore ? await inheritedRules(root) : undefined;
  return JSON.stringify(await listResponse(options, inherited, q.flatten !== true, cap, { aborted: false }));
}

describe('the native walker', () => {
  it('writes the same body as the general path, on random trees and options', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(spec, query, fc.integer({ min: 1, max: 30 }), async (tree, q, cap) => {
        const root = path.join(base, `t${n++}`);
        await makeTree(root, tree);
        const options = parseListQuery({ ...q, path: root, light: true }, base, false);
        if (!isPlainFlatListing(options, q.flatten !== true)) return;
        expect(nativeCanList(options, undefined)).toBe(true);
        const body = await native(root, q, cap);
        // Only a root the walker must leave whole is handed back: one whose own .gitignore applies.
        if (body === undefined) expect(options.useGitignore && tree['.gitignore'] !== undefined).toBe(true);
        else expect(body).toBe(await general(root, q, cap));
      }),
      { numRuns: 120 },
    );
  });

  it('hands directories with a .gitignore or a name that is not UTF-8 to the JavaScript walk', async () => {
    const q = { nested: true, flatten: true };
    const ignored = path.join(base, 'ignored');
    await makeTree(ignored, { src: { deep: { '.gitignore': '*.log\n', 'a.log': '', 'b.txt': '' }, z: '' }, top: '' });
    const body = await native(ignored, q, 100);
    expect(body).toBe(await general(ignored, q, 100));
    expect(body).not.toContain('a.log');
    for (const cap of [2, 3, 4, 5]) expect(await native(ignored, q, cap)).toBe(await general(ignored, q, cap));
    const unruled = { ...q, use_gitignore: false };
    expect(await native(ignored, unruled, 100)).toBe(await general(ignored, unruled, 100));

    const raw = path.join(base, 'raw');
    await makeTree(raw, { sub: { ok: '' }, z: '' });
    await writeFile(Buffer.concat([Buffer.from(`${raw}/sub/`), Buffer.from([0x66, 0xff, 0x6f])]), '');
    expect(await native(raw, q, 100)).toBe(await general(raw, q, 100));
    expect(await native(raw, q, 100)).toContain('f\uFFFDo');
    // At the root: the whole walk is handed back before anything is written.
    expect(await native(path.join(raw, 'sub'), q, 100)).toBeUndefined();
    expect(await native(path.join(ignored, 'src', 'deep'), q, 100)).toBeUndefined();
  });

  it('stops at the cap, saying so only when an entry was left out', async () => {
    const root = path.join(base, 'capped');
    await makeTree(root, { a: { x: '' }, b: { y: '', z: '' }, c: '' });
    const q = { nested: true, flatten: true };
    expect(await native(root, q, 100)).toBe(await general(root, q, 100));
    for (const cap of [1, 4, 5, 6, 7]) expect(await native(root, q, cap)).toBe(await general(root, q, cap));
  });

  it("takes a repository whose rules files hold only comments (git's exclude template) as one without rules", async () => {
    const repo = path.join(base, 'repo');
    const template = "# git ls-files --others --exclude-from=.git/info/exclude\n# Lines that start with '#' are comments.\n\n";
    await makeTree(repo, { '.git': { info: { exclude: template } }, src: { 'a.ts': '' } });
    expect(await inheritedRules(path.join(repo, 'src'))).toBeUndefined();
    await writeFile(path.join(repo, '.git', 'info', 'exclude'), `${template}*.log\n`);
    expect(await inheritedRules(path.join(repo, 'src'))).toBeDefined();
  });

  it('leaves /proc to the JavaScript walk (`self` there would be the walker), also through a link', async () => {
    for (const p of ['/proc/self', '/proc', '/dev/fd']) expect(await native(p, { nested: true, flatten: true }, 100)).toBeUndefined();
  });

  it('is left out with ignore patterns, extensions or rules from above the root', () => {
    const plain = { path: base, nested: true, flatten: true, light: true };
    expect(nativeCanList(parseListQuery(plain, '/', false), undefined)).toBe(true);
    expect(nativeCanList(parseListQuery({ ...plain, ignore_patterns: '*.ts' }, '/', false), undefined)).toBe(false);
    expect(nativeCanList(parseListQuery({ ...plain, include_extensions: true }, '/', false), undefined)).toBe(false);
  });
});

describe('GET /files with the native walker and without', () => {
  let withWalker: TestAgent;
  let withoutWalker: TestAgent;
  let root: string;
  beforeAll(async () => {
    withWalker = await startTestAgent({ domains: [createListingDomain({ entryCap: 4, walker: WALKER })] });
    withoutWalker = await startTestAgent({ domains: [createListingDomain({ entryCap: 4, walker: false })] });
    root = path.join(base, 'http');
    await makeTree(root, { a: { x: '', 'n"q': '' }, 'a-b': '', b: '' });
  });
  afterAll(async () => {
    await withWalker.close();
    await withoutWalker.close();
  });

  it('answers the same bytes, the cap and 404s included', async () => {
    for (const p of [root, path.join(root, 'a'), path.join(root, 'nope'), path.join(root, 'b')]) {
      const url = `/files?path=${encodeURIComponent(p)}&nested=true&flatten=true&light=true`;
      const [ours, theirs] = [await withWalker.request('GET', url), await withoutWalker.request('GET', url)];
      expect(ours.status).toBe(theirs.status);
      const [a, b] = [await ours.text(), await theirs.text()];
      if (ours.status === 200) expect(a).toBe(b);
      else expect(JSON.parse(a).error).toEqual(JSON.parse(b).error);
    }
  });
});
