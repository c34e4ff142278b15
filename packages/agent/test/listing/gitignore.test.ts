import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListingDomain } from '../../src/listing/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { type ListBody, makeTree, relPaths } from './fixture.js';

let t: TestAgent;
let repo: string;
const flat = async (dir: string, extra = '') =>
  relPaths((await t.json<ListBody>('GET', `/files?path=${dir}&nested=true&flatten=true&light=true${extra}`)).body.entries, dir);

beforeAll(async () => {
  t = await startTestAgent({ domains: [createListingDomain()] });
  repo = path.join(t.workdir, 'repo');
  await makeTree(repo, {
    '.gitignore': '*.log\nbuild/\n!important.log\n/top-only.txt\n',
    'app.log': 'x',
    'important.log': 'x',
    'top-only.txt': 'x',
    'main.ts': 'x',
    build: { 'out.js': 'x' },
    '.git': { HEAD: 'ref', info: { exclude: 'secret.txt\n' } },
    'secret.txt': 'x',
    pkg: {
      '.gitignore': '*.tmp\n!keep.log\n',
      'a.tmp': 'x',
      'keep.log': 'x',
      'other.log': 'x',
      'top-only.txt': 'x',
      build: { 'x.js': 'x' },
      sub: { 'b.tmp': 'x', 'c.ts': 'x' },
    },
  });
});
afterAll(async () => t.close());

describe('use_gitignore', () => {
  it('applies .gitignore files the way git does: nested ones, negation, anchoring, dir-only, info/exclude, .git', async () => {
    expect(await flat(repo)).toEqual([
      '.gitignore',
      'important.log',
      'main.ts',
      'pkg',
      'pkg/.gitignore',
      'pkg/keep.log',
      'pkg/sub',
      'pkg/sub/c.ts',
      'pkg/top-only.txt',
    ]);
  });

  it('applies the rules of .gitignore files above the listed directory, inside the repository', async () => {
    expect(await flat(path.join(repo, 'pkg'))).toEqual(['.gitignore', 'keep.log', 'sub', 'sub/c.ts', 'top-only.txt']);
  });

  it('use_gitignore=false lists everything, .git included', async () => {
    const all = await flat(repo, '&use_gitignore=false');
    expect(all).toContain('app.log');
    expect(all).toContain('build/out.js');
    expect(all).toContain('.git/HEAD');
    expect(all).toContain('pkg/sub/b.tmp');
  });

  it('applies to the stream too', async () => {
    const text = await (await t.request('GET', `/files/stream?path=${path.join(repo, 'pkg')}&light=true`)).text();
    const paths = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((o) => !o.event)
      .map((o) => path.relative(path.join(repo, 'pkg'), o.path))
      .sort();
    expect(paths).toEqual(['.gitignore', 'keep.log', 'sub', 'sub/c.ts', 'top-only.txt']);
  });

  it('applies .gitignore files outside a repository too', async () => {
    const dir = path.join(t.workdir, 'plain');
    await makeTree(dir, { '.gitignore': 'node_modules\n', node_modules: { x: { 'y.js': '1' } }, 'index.js': '1' });
    await mkdir(path.join(dir, 'deep', 'node_modules'), { recursive: true });
    expect(await flat(dir)).toEqual(['.gitignore', 'deep', 'index.js']);
  });
});
