import { lstat, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';

/** A .gitignore larger than this is not read (it would only be hostile). */
const MAX_RULES_FILE = 1024 * 1024;
/** The `ignore` package caches every tested path; a fresh instance every so often keeps memory flat. */
const TESTS_BEFORE_REBUILD = 20_000;

/**
 * Rules that only name entries — `name`, `name/`, `*suffix`, `*suffix/`: no other glob character, no inner
 * slash, no negation — as most .gitignore files are. Such a rule matches an entry's last component wherever
 * it is, so a walk that tests an entry only after its parent directories passed (every walk here: an
 * excluded directory is not entered) decides with a set lookup and a few `endsWith`, where the `ignore`
 * package runs every rule's regular expression on the path and on each parent, and caches every path
 * (two thirds of a 50,000-entry listing's time under a three-rule .gitignore: bench/results/files-list.md).
 */
class NameRules {
  readonly names = new Set<string>();
  readonly dirNames = new Set<string>();
  readonly suffixes: string[] = [];
  readonly dirSuffixes: string[] = [];

  /** The rules, or undefined when one of them is more than a name. */
  static parse(source: string | readonly string[]): NameRules | undefined {
    const rules = new NameRules();
    const lines = typeof source === 'string' ? source.split(/\r?\n/) : source;
    for (const raw of lines) {
      if (raw.startsWith('#')) continue;
      // Trailing spaces are dropped (an escaped one would hold a backslash, refused below).
      let line = raw.replace(/ +$/, '');
      if (line === '') continue;
      const dirOnly = line.endsWith('/');
      if (dirOnly) line = line.slice(0, -1);
      const star = line.startsWith('*');
      const literal = star ? line.slice(1) : line;
      if (line === '' || /[*?[\]\\/!\s]/.test(literal) || (!star && literal.startsWith('!'))) return undefined;
      if (star) (dirOnly ? rules.dirSuffixes : rules.suffixes).push(literal);
      else (dirOnly ? rules.dirNames : rules.names).add(literal);
    }
    return rules;
  }

  /** Whether the entry is ignored (`undefined`: no rule matched; name rules never re-include). */
  verdict(relative: string): true | undefined {
    const isDir = relative.endsWith('/');
    const end = isDir ? relative.length - 1 : relative.length;
    const name = relative.slice(relative.lastIndexOf('/', end - 1) + 1, end);
    if (this.names.has(name)) return true;
    for (const suffix of this.suffixes) if (name.endsWith(suffix)) return true;
    if (!isDir) return undefined;
    if (this.dirNames.has(name)) return true;
    for (const suffix of this.dirSuffixes) if (name.endsWith(suffix)) return true;
    return undefined;
  }
}

/** Rules in gitignore syntax, compiled once; case-sensitive, as git is on Linux. */
export class RuleSet {
  readonly #source: string | readonly string[];
  readonly #names: NameRules | undefined;
  #ig: Ignore;
  #tests = 0;

  /** Whether a rule re-includes (`!pattern`). */
  readonly negates: boolean;

  constructor(source: string | readonly string[]) {
    this.#source = source;
    this.#names = NameRules.parse(source);
    this.negates = (typeof source === 'string' ? source.split('\n') : source).some((line) => line.startsWith('!'));
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

  /**
   * `verdict` for a walk that reaches `relative` only through directories these same rules did not match
   * (paths relative to the rules' own directory): name rules then decide from the last component alone.
   * (A directory they matched is excluded, unless rules further in re-included it: then use `verdict`.)
   */
  walkVerdict(relative: string): boolean | undefined {
    return this.#names ? this.#names.verdict(relative) : this.verdict(relative);
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
    let reincluded = false;
    for (let link = chain; link; link = link.parent) {
      // Rules from the walk's root or below it (no prefix) tested every directory above the entry on the way
      // down, and one they matched was left out — unless rules further in can re-include.
      const relativeToRules = target.slice(link.strip);
      const verdict =
        link.prefix === '' && !reincluded ? link.rules.walkVerdict(relativeToRules) : link.rules.verdict(link.prefix + relativeToRules);
      if (verdict !== undefined) return verdict;
      reincluded ||= link.rules.negates;
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
    // Only blank lines and comments (as git's own `.git/info/exclude` template): no rules, so no rule set.
    return hasRules(text) ? new RuleSet(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a rules file holds a rule: a line that is neither blank nor a comment (`#`; `\#` is a pattern). */
function hasRules(text: string): boolean {
  for (const line of text.split('\n')) if (line.trim() !== '' && !line.startsWith('#')) return true;
  return false;
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
