import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListingDomain } from '../../src/listing/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { type ListBody, makeTree, relPaths, shape } from './fixture.js';

let t: TestAgent;
let root: string;
const list = (query: string) => t.json<ListBody>('GET', `/files?path=${encodeURIComponent(root)}&${query}`);

beforeAll(async () => {
  t = await startTestAgent({ domains: [createListingDomain()] });
  root = path.join(t.workdir, 'app');
  await makeTree(root, {
    'main.go': 'package main\n',
    'README.md': '# hi\n',
    'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1]),
    src: { 'index.ts': 'export {};\n', lib: { 'util.ts': 'x', 'data.bin': 'raw' }, 'a-b.txt': 'dash' },
    'src-old': { 'keep.js': '1' },
    empty: {},
  });
});
afterAll(async () => t.close());

describe('GET /files', () => {
  it('lists one level by default, sorted by path, with size and modified', async () => {
    const { status, body } = await list('');
    expect(status).toBe(200);
    expect(body.success).toBe(true);
    expect(body.path).toBe(root);
    expect(relPaths(body.entries, root)).toEqual(['README.md', 'empty', 'logo.png', 'main.go', 'src', 'src-old']);
    expect(body.count).toBe(6);
    const main = body.entries.find((e) => e.name === 'main.go');
    expect(main).toEqual({ name: 'main.go', path: `${root}/main.go`, type: 'file', size: 13, modified: expect.any(String) });
    expect(new Date(main?.modified ?? '').toISOString()).toBe(main?.modified);
    expect(body.entries.find((e) => e.name === 'src')).toMatchObject({ type: 'directory', size: expect.any(Number) });
    expect(body.entries.find((e) => e.name === 'src')).not.toHaveProperty('children');
  });

  it('nested: a tree with children sorted by name; count includes nested entries', async () => {
    const { body } = await list('nested=true');
    expect(shape(body.entries)).toEqual({
      'README.md': null,
      empty: {},
      'logo.png': null,
      'main.go': null,
      src: { 'a-b.txt': null, 'index.ts': null, lib: { 'data.bin': null, 'util.ts': null } },
      'src-old': { 'keep.js': null },
    });
    expect(body.count).toBe(12);
  });

  it('nested + flatten: one list in byte order of full paths (a-b before a/x)', async () => {
    const { body } = await list('nested=true&flatten=true');
    expect(relPaths(body.entries, root)).toEqual([
      'README.md',
      'empty',
      'logo.png',
      'main.go',
      'src',
      'src-old',
      'src-old/keep.js',
      'src/a-b.txt',
      'src/index.ts',
      'src/lib',
      'src/lib/data.bin',
      'src/lib/util.ts',
    ]);
    expect(body.count).toBe(12);
    for (const e of body.entries) expect(e).not.toHaveProperty('children');
  });

  it('light omits size and modified', async () => {
    const { body } = await list('nested=true&flatten=true&light=true');
    expect(body.count).toBe(12);
    expect(body.entries).toHaveLength(12);
    for (const e of body.entries) expect(Object.keys(e).sort()).toEqual(['name', 'path', 'type']);
  });

  it('max_depth: the directory’s children are depth 1', async () => {
    const one = await list('nested=true&flatten=true&max_depth=1');
    expect(relPaths(one.body.entries, root)).toEqual(['README.md', 'empty', 'logo.png', 'main.go', 'src', 'src-old']);
    const two = await list('nested=true&max_depth=2');
    expect(shape(two.body.entries).src).toEqual({ 'a-b.txt': null, 'index.ts': null, lib: '…' });
  });

  it('include_extensions adds the extension with its dot, lower-case; not on directories', async () => {
    const { body } = await list('include_extensions=true');
    expect(body.entries.find((e) => e.name === 'README.md')?.extension).toBe('.md');
    expect(body.entries.find((e) => e.name === 'src')).not.toHaveProperty('extension');
  });

  it('include_content inlines text files only; include_hash gives SHA-256 hex', async () => {
    const { body } = await list('include_content=true&include_hash=true');
    const main = body.entries.find((e) => e.name === 'main.go');
    expect(main?.content).toBe('package main\n');
    expect(main?.hash).toBe(createHash('sha256').update('package main\n').digest('hex'));
    const png = body.entries.find((e) => e.name === 'logo.png');
    expect(png).not.toHaveProperty('content');
    expect(png?.hash).toBe(
      createHash('sha256')
        .update(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1]))
        .digest('hex'),
    );
    expect(body.entries.find((e) => e.name === 'src')).not.toHaveProperty('hash');
  });

  it('max_content_budget: later entries carry no content once it is spent, never an error', async () => {
    // README.md (5 bytes) fits, main.go (13) does not: order is by path.
    const { status, body } = await list('include_content=true&max_content_budget=10');
    expect(status).toBe(200);
    expect(body.entries.find((e) => e.name === 'README.md')?.content).toBe('# hi\n');
    expect(body.entries.find((e) => e.name === 'main.go')).not.toHaveProperty('content');
    const none = await list('include_content=true&max_content_budget=0');
    expect(relPaths(none.body.entries, root)).toEqual(['README.md', 'empty', 'logo.png', 'main.go', 'src', 'src-old']);
    for (const e of none.body.entries) expect(e).not.toHaveProperty('content');
  });

  it('code_files_only keeps code files and the directories that hold them', async () => {
    const { body } = await list('nested=true&flatten=true&code_files_only=true');
    expect(relPaths(body.entries, root)).toEqual([
      'README.md',
      'main.go',
      'src',
      'src-old',
      'src-old/keep.js',
      'src/a-b.txt',
      'src/index.ts',
      'src/lib',
      'src/lib/util.ts',
    ]);
  });

  it('include_ext takes a comma list with or without dots, any case', async () => {
    const { body } = await list('nested=true&flatten=true&include_ext=TS,.go');
    expect(relPaths(body.entries, root)).toEqual(['main.go', 'src', 'src/index.ts', 'src/lib', 'src/lib/util.ts']);
    const tree = await list('nested=true&include_ext=js');
    expect(shape(tree.body.entries)).toEqual({ 'src-old': { 'keep.js': null } });
  });

  it('path_filter is a case-insensitive substring of the relative path', async () => {
    const { body } = await list('nested=true&flatten=true&path_filter=LIB');
    expect(relPaths(body.entries, root)).toEqual(['src', 'src/lib', 'src/lib/data.bin', 'src/lib/util.ts']);
  });

  it('ignore_patterns: comma-separated globs leave entries and their subtrees out', async () => {
    const { body } = await list('nested=true&flatten=true&ignore_patterns=lib,*.md, src-old/');
    expect(relPaths(body.entries, root)).toEqual(['empty', 'logo.png', 'main.go', 'src', 'src/a-b.txt', 'src/index.ts']);
  });

  it('accepts 1/0 for booleans', async () => {
    const { status, body } = await list('nested=1&flatten=1&light=1');
    expect(status).toBe(200);
    expect(body.count).toBe(12);
  });

  it('path defaults to /, and relative paths resolve against the workdir', async () => {
    const top = await t.json<ListBody>('GET', '/files');
    expect(top.status).toBe(200);
    expect(top.body.path).toBe('/');
    expect(top.body.entries.map((e) => e.name)).toContain('tmp');
    const rel = await t.json<ListBody>('GET', '/files?path=app/src');
    expect(rel.body.path).toBe(path.join(root, 'src'));
  });
});

describe('symlinks', () => {
  it('are listed as symlinks and never followed, so loops end', async () => {
    const dir = path.join(t.workdir, 'links');
    await makeTree(dir, { real: { 'f.txt': 'f' } });
    await symlink('..', path.join(dir, 'real', 'up'));
    await symlink('real', path.join(dir, 'alias'));
    await symlink('/nonexistent', path.join(dir, 'dangling'));
    const { status, body } = await t.json<ListBody>(
      'GET',
      `/files?path=${dir}&nested=true&flatten=true&include_content=true&include_hash=true`,
    );
    expect(status).toBe(200);
    expect(body.entries.map((e) => [path.relative(dir, e.path), e.type])).toEqual([
      ['alias', 'symlink'],
      ['dangling', 'symlink'],
      ['real', 'directory'],
      ['real/f.txt', 'file'],
      ['real/up', 'symlink'],
    ]);
    const link = body.entries.find((e) => e.name === 'alias');
    expect(link).not.toHaveProperty('content');
    expect(link).not.toHaveProperty('hash');
  });

  it('a symlink named as the path is followed (the caller asked for it)', async () => {
    const { body } = await t.json<ListBody>('GET', `/files?path=${t.workdir}/links/alias`);
    expect(body.entries.map((e) => e.name)).toEqual(['f.txt', 'up']);
  });
});

describe('the entry cap', () => {
  it('stops at the cap with truncated: true, keeping the first entries by path', async () => {
    const capped = await startTestAgent({ domains: [createListingDomain({ entryCap: 5 })] });
    try {
      const dir = path.join(capped.workdir, 'many');
      await mkdir(path.join(dir, 'd'), { recursive: true });
      for (const n of ['a', 'b', 'c', 'e']) await writeFile(path.join(dir, n), n);
      for (const n of ['x', 'y']) await writeFile(path.join(dir, 'd', n), n);
      const flat = await capped.json<ListBody>('GET', `/files?path=${dir}&nested=true&flatten=true`);
      expect(relPaths(flat.body.entries, dir)).toEqual(['a', 'b', 'c', 'd', 'd/x']);
      expect(flat.body.count).toBe(5);
      expect(flat.body.truncated).toBe(true);
      const tree = await capped.json<ListBody>('GET', `/files?path=${dir}&nested=true`);
      expect(shape(tree.body.entries)).toEqual({ a: null, b: null, c: null, d: { x: null } });
      expect(tree.body.count).toBe(5);
      expect(tree.body.truncated).toBe(true);
      const exact = await capped.json<ListBody>('GET', `/files?path=${dir}/d`);
      expect(exact.body).not.toHaveProperty('truncated');
    } finally {
      await capped.close();
    }
  });
});
