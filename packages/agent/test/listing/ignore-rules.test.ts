import fc from 'fast-check';
import ignore from 'ignore';
import { describe, expect, it } from 'vitest';
import { IgnoreChain, RuleSet } from '../../src/listing/ignore-rules.js';

const PARTS = ['a', 'b', 'ab', 'a.ts', 'b.ts', '.ts', 'x.log', 'node_modules', 'é', 'a.TS'];
// Rules that only name entries, with the lines around them a .gitignore holds.
const NAME_RULES = ['a', 'b/', '*.ts', '*s/', 'node_modules', '*.log', 'é', '*', '# a comment', '', 'ab   ', '.ts'];

const relPath = fc.tuple(fc.array(fc.constantFrom(...PARTS), { minLength: 1, maxLength: 3 }), fc.boolean());

function reference(rules: string[]): (relative: string) => boolean | undefined {
  const ig = ignore({ ignorecase: false, allowRelativePaths: true }).add(rules.join('\n'));
  return (relative) => {
    const r = ig.test(relative);
    return r.ignored ? true : r.unignored ? false : undefined;
  };
}

describe('name rules', () => {
  it('decide as the ignore package for every entry a walk reaches (no parent excluded)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...NAME_RULES), { minLength: 1, maxLength: 5 }), relPath, (rules, [parts, isDir]) => {
        const full = reference(rules);
        // A walk never tests what is below a directory the rules left out.
        for (let i = 1; i < parts.length; i++) fc.pre(full(`${parts.slice(0, i).join('/')}/`) !== true);
        const relative = parts.join('/') + (isDir ? '/' : '');
        const set = new RuleSet(rules.join('\n'));
        expect(set.walkVerdict(relative)).toBe(full(relative));
        expect(set.verdict(relative)).toBe(full(relative));
      }),
      { numRuns: 500 },
    );
  });

  it('leave anything else to the ignore package', () => {
    for (const rules of ['/a\n', 'a/b\n', '!a\n*\n', 'a?\n', '[ab]\n', '**/a\n', 'a*b\n', '\\#a\n', ' a\n']) {
      const set = new RuleSet(rules);
      const full = reference([rules]);
      for (const p of ['a', 'a/', 'a/b', 'x/a', '#a', ' a', 'ab', 'b/a/']) expect(set.walkVerdict(p)).toBe(full(p));
    }
  });

  it('give way to the full rules when a .gitignore further in can re-include', () => {
    // Root: `build/`; x/.gitignore: `!build/`. x/build is re-included by x's rules, and the root's rules still
    // exclude what is in it (they exclude its parent), as they did before name rules existed.
    const root = IgnoreChain.extend(undefined, new RuleSet('build/\n'), '');
    const inner = IgnoreChain.extend(root, new RuleSet('!build/\n'), 'x');
    expect(IgnoreChain.ignores(inner, 'x/build', true)).toBe(false);
    const expected = new RuleSet('build/\n').verdict('x/build/f') === true;
    expect(IgnoreChain.ignores(inner, 'x/build/f', false)).toBe(expected);
    // Without a re-inclusion further in, the last component decides.
    const plain = IgnoreChain.extend(root, new RuleSet('*.log\n'), 'x');
    expect(IgnoreChain.ignores(plain, 'x/y/f.log', false)).toBe(true);
    expect(IgnoreChain.ignores(plain, 'x/build', true)).toBe(true);
    expect(IgnoreChain.ignores(plain, 'x/y/f', false)).toBe(false);
  });
});
