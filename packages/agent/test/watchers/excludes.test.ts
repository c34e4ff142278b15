import { DEFAULT_WATCHER_EXCLUDES } from '@cove/protocol';
import { describe, expect, it } from 'vitest';
import { ExcludeMatcher, mergeExcludes } from '../../src/watchers/excludes.js';

const matches = (patterns: string[], rel: string) => {
  const name = rel.split('/').at(-1) as string;
  return new ExcludeMatcher(patterns).excludes(name, () => rel);
};

describe('exclude patterns', () => {
  it('match the reference defaults by name at any depth', () => {
    const m = (rel: string) => matches([...DEFAULT_WATCHER_EXCLUDES], rel);
    for (const rel of [
      'node_modules',
      'a/node_modules',
      '.git',
      'x/__pycache__',
      'dist',
      'a/b/build',
      '.DS_Store',
      'f.swp',
      'g.swo',
      'notes.txt~',
    ]) {
      expect(m(rel), rel).toBe(true);
    }
    for (const rel of ['src', 'node_modules2', 'git', 'a.swpx', 'distribution', 'builds', 'x~y']) expect(m(rel), rel).toBe(false);
  });

  it('support *, ?, classes, negated classes and escapes', () => {
    expect(matches(['*.log'], 'a/b.log')).toBe(true);
    expect(matches(['*.log'], 'a/b.logs')).toBe(false);
    expect(matches(['file?.txt'], 'file1.txt')).toBe(true);
    expect(matches(['file?.txt'], 'file12.txt')).toBe(false);
    expect(matches(['[ab]*.ts'], 'beta.ts')).toBe(true);
    expect(matches(['[ab]*.ts'], 'gamma.ts')).toBe(false);
    expect(matches(['[!ab]*.ts'], 'gamma.ts')).toBe(true);
    expect(matches(['[0-9]*'], '7up')).toBe(true);
    expect(matches(['\\*star'], '*star')).toBe(true);
    expect(matches(['\\*star'], 'xstar')).toBe(false);
    expect(matches(['[unclosed'], '[unclosed')).toBe(true);
  });

  it('match patterns with / against the path relative to the root, ** spanning directories', () => {
    expect(matches(['src/gen'], 'src/gen')).toBe(true);
    expect(matches(['src/gen'], 'lib/src/gen')).toBe(false);
    expect(matches(['/src/gen/'], 'src/gen')).toBe(true);
    expect(matches(['**/gen'], 'a/b/gen')).toBe(true);
    expect(matches(['**/gen'], 'gen')).toBe(true);
    expect(matches(['src/**/*.tmp'], 'src/a/b/c.tmp')).toBe(true);
    expect(matches(['src/*.tmp'], 'src/a/c.tmp')).toBe(false);
  });

  it('stay fast on hostile patterns (no backtracking blow-up)', () => {
    const pattern = `${'*a'.repeat(500)}b`;
    const name = 'a'.repeat(255);
    const m = new ExcludeMatcher([pattern, `${'**/'.repeat(300)}x`]);
    // Linear-time matching: this completes; a backtracking regex would not.
    expect(m.excludes(name, () => `${'d/'.repeat(500)}${name}`)).toBe(false);
  });

  it('merge with the defaults first and drop duplicates and empty patterns', () => {
    expect(mergeExcludes(['a', 'b'], ['b', '', 'c', 'c'])).toEqual(['a', 'b', 'c']);
  });
});
