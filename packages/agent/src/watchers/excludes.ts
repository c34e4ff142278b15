/**
 * Exclude patterns: shell-style globs, matched without regular expressions so
 * that a hostile pattern cannot make matching slow (no backtracking blow-up).
 *
 * A pattern without `/` matches an entry's name (`*.log`, `tmp`, `.git`), at
 * any depth. A pattern with `/` matches the path relative to the watcher's
 * root (`src/generated`, `**\/*.tmp`); a leading `/` only anchors it. In both,
 * `*` is any run of characters except `/`, `?` one character, `[a-z]` and
 * `[!a-z]` a class, `**` as a whole segment any number of segments, and `\`
 * escapes the next character.
 */

type Token =
  | { kind: 'lit'; ch: string }
  | { kind: 'any' }
  | { kind: 'star' }
  | { kind: 'class'; negate: boolean; ranges: Array<[string, string]> };

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\' && i + 1 < pattern.length) {
      tokens.push({ kind: 'lit', ch: pattern[++i] as string });
    } else if (ch === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (ch === '?') {
      tokens.push({ kind: 'any' });
    } else if (ch === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        tokens.push({ kind: 'lit', ch });
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      const ranges: Array<[string, string]> = [];
      for (let j = 0; j < body.length; j++) {
        const lo = body[j] as string;
        if (body[j + 1] === '-' && j + 2 < body.length) {
          ranges.push([lo, body[j + 2] as string]);
          j += 2;
        } else ranges.push([lo, lo]);
      }
      tokens.push({ kind: 'class', negate, ranges });
      i = close;
    } else tokens.push({ kind: 'lit', ch });
  }
  return tokens;
}

function matchesOne(token: Token, ch: string): boolean {
  switch (token.kind) {
    case 'lit':
      return token.ch === ch;
    case 'any':
      return true;
    case 'class': {
      const inside = token.ranges.some(([lo, hi]) => ch >= lo && ch <= hi);
      return inside !== token.negate;
    }
    case 'star':
      return false;
  }
}

/** Wildcard matching with one backtrack point: O(pattern × text) at worst. */
function matchTokens(tokens: readonly Token[], text: string): boolean {
  let t = 0;
  let s = 0;
  let starT = -1;
  let starS = 0;
  while (s < text.length) {
    const token = tokens[t];
    if (token && token.kind !== 'star' && matchesOne(token, text[s] as string)) {
      t++;
      s++;
    } else if (token?.kind === 'star') {
      starT = t++;
      starS = s;
    } else if (starT !== -1) {
      t = starT + 1;
      s = ++starS;
    } else return false;
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}

/** `**` segments match any number of path segments; same single-backtrack scheme over segments. */
function matchSegments(pattern: ReadonlyArray<Token[] | '**'>, segments: readonly string[]): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < segments.length) {
    const part = pattern[p];
    if (part !== undefined && part !== '**' && matchTokens(part, segments[s] as string)) {
      p++;
      s++;
    } else if (part === '**') {
      starP = p++;
      starS = s;
    } else if (starP !== -1) {
      p = starP + 1;
      s = ++starS;
    } else return false;
  }
  while (pattern[p] === '**') p++;
  return p === pattern.length;
}

interface Compiled {
  /** Name patterns have one segment and match the last component. */
  byName: boolean;
  segments: Array<Token[] | '**'>;
}

function compile(pattern: string): Compiled | undefined {
  const trimmed = pattern.replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '/') return undefined;
  if (!trimmed.includes('/')) return { byName: true, segments: [tokenize(trimmed)] };
  const parts = trimmed.replace(/^\/+/, '').split('/').filter(Boolean);
  return { byName: false, segments: parts.map((part) => (part === '**' ? '**' : tokenize(part))) };
}

/** Merges the defaults with a client's patterns: defaults first, duplicates dropped. */
export function mergeExcludes(defaults: readonly string[], extra: readonly string[]): string[] {
  return [...new Set([...defaults, ...extra.filter((p) => p !== '')])];
}

/** Decides whether an entry of a watched tree is excluded. */
export class ExcludeMatcher {
  readonly #byName: Token[][] = [];
  readonly #byPath: Array<Array<Token[] | '**'>> = [];

  constructor(patterns: readonly string[]) {
    for (const pattern of patterns) {
      const compiled = compile(pattern);
      if (!compiled) continue;
      if (compiled.byName) this.#byName.push(compiled.segments[0] as Token[]);
      else this.#byPath.push(compiled.segments);
    }
  }

  /**
   * @param name the entry's own name
   * @param relative its path relative to the root (`a/b/name`), only needed by path patterns
   */
  excludes(name: string, relative: () => string): boolean {
    for (const tokens of this.#byName) if (matchTokens(tokens, name)) return true;
    if (this.#byPath.length === 0) return false;
    const segments = relative().split('/');
    for (const pattern of this.#byPath) if (matchSegments(pattern, segments)) return true;
    return false;
  }
}
