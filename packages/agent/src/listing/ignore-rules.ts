import { lstat, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';

/** A .gitignore larger than this is not read (it would only be hostile). */
const MAX_RULES_FILE = 1024 * 1024;
/** The `ignore` package caches every tested path; a fresh instance every so often keeps memory flat. */
const TESTS_BEFORE_REBUILD = 20_000;

/** Rules in gitignore syntax, compiled once; case-sensitive, as git is on Linux. */
export class RuleSet {
  readonly #source: string | readonly string[];
  #ig: Ignore;
  #tests = 0;

  constructor(source: string | readonly string[]) {
    this.#source = source;
    this.#ig = this.#build();
  }

  #build(): Ignore {
    return ignore({ ignorecase: false, allowRelativePaths: true }).add(this.#source);
  }

  /** `true` ignored, `false` re-included by a negation, `undefined` no rule matched. */
  verdict(relative: string): boolean | undefined {
    if (++this.#tests > TESTS_BEFORE_REBUILD) {
      this.#tests = 0;
      this.#ig = this.#build();
    }
    const result = this.#ig.test(relative);
    if (result.ignored) return true;
    if (result.unignored) return false;
    return undefined;
  }
}

/**
 * The .gitignore files in force in one directory, innermost first. Paths are
 * given relative to the walk's root; each link knows how to make them
 * relative to its own directory (`prefix` for a file above the root, `strip`
 * for one below it).
 */
export class IgnoreChain {
  constructor(
    readonly rules: RuleSet,
    readonly parent: IgnoreChain | undefined,
    readonly prefix: string,
    readonly strip: number,
  ) {}

  /** Whether a path (relative to the walk's root) is ignored, as git decides. */
  static ignores(chain: IgnoreChain | undefined, relative: string, isDir: boolean): boolean {
    const target = isDir ? `${relative}/` : relative;
    for (let link = chain; link; link = link.parent) {
      const verdict = link.rules.verdict(link.prefix + target.slice(link.strip));
      if (verdict !== undefined) return verdict;
    }
    return false;
  }

  /** The chain of a subdirectory that has its own .gitignore (`relativeDir` from the root, '' for the root). */
  static extend(chain: IgnoreChain | undefined, rules: RuleSet, relativeDir: string): IgnoreChain {
    return new IgnoreChain(rules, chain, '', relativeDir === '' ? 0 : relativeDir.length + 1);
  }
}

/** Reads a rules file; undefined if it is missing, unreadable, empty or too large. */
export async function readRules(file: string): Promise<RuleSet | undefined> {
  try {
    const info = await lstat(file);
    if (!info.isFile() || info.size === 0 || info.size > MAX_RULES_FILE) return undefined;
    const text = await readFile(file, 'utf8');
    return text.trim() === '' ? undefined : new RuleSet(text);
  } catch {
    return undefined;
  }
}

/**
 * The rules that apply to a walk rooted at `root` from above it, the way git
 * sees them: when `root` is inside a repository, `.git/info/exclude` and the
 * .gitignore files from the repository's top down to `root`'s parent. The
 * root's own .gitignore is read by the walk itself.
 */
export async function inheritedRules(root: string): Promise<IgnoreChain | undefined> {
  const ancestors: string[] = [];
  let top: string | undefined;
  for (let dir = root; ; ) {
    if (dir !== root) ancestors.push(dir);
    if (await exists(path.join(dir, '.git'))) {
      top = dir;
      break;
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  if (top === undefined) return undefined;
  let chain: IgnoreChain | undefined;
  const exclude = await readRules(path.join(top, '.git', 'info', 'exclude'));
  if (exclude) chain = new IgnoreChain(exclude, chain, prefixFor(top, root), 0);
  for (const dir of ancestors.reverse()) {
    const rules = await readRules(path.join(dir, '.gitignore'));
    if (rules) chain = new IgnoreChain(rules, chain, prefixFor(dir, root), 0);
  }
  return chain;
}

function prefixFor(ancestor: string, root: string): string {
  const relative = path.relative(ancestor, root);
  return relative === '' ? '' : `${relative}/`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** `ignore_patterns`: comma-separated globs in gitignore syntax; undefined when there are none. */
export function parsePatterns(value: string | undefined): RuleSet | undefined {
  if (value === undefined) return undefined;
  const patterns = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '' && !p.startsWith('#'));
  return patterns.length === 0 ? undefined : new RuleSet(patterns);
}
