import { badParam } from '@cove/protocol';
import { TEXT_FORMAT_ARGS } from './rg-text-reader.js';

/** How rg prints its results: `--json`, or its standard output with NUL separators (see RgTextReader). */
export type RgOutput = 'json' | 'text';

/**
 * The output a search reads. The text output is cheaper for rg to write and
 * for the agent to read, but only for a directory: a file given as `path`
 * is searched even when binary, and rg's text output then only says "binary
 * file matches" where `--json` gives the lines. Its field separators need
 * ripgrep 13 or later (`version` is the first line of `rg --version`).
 */
export function rgOutputFor(search: ContentSearch, version: string): RgOutput {
  if (!search.rootIsDir) return 'json';
  const major = Number(/^ripgrep (\d+)\./.exec(version)?.[1] ?? 0);
  return major >= 13 ? 'text' : 'json';
}

/** A content search, validated and with every default applied. */
export interface ContentSearch {
  query: string;
  /** Absolute, normalised path searched (file or directory). */
  root: string;
  rootIsDir: boolean;
  caseSensitive: boolean;
  regex: boolean;
  wholeWord: boolean;
  maxResults: number;
  timeoutMs: number;
  contextLines: number;
  /** Extensions without dots. */
  fileTypes: string[];
  includeHidden: boolean;
  noGitignore: boolean;
  /** Globs of paths to skip, without a leading `!`. */
  ignorePatterns: string[];
}

/** Directories of virtual file systems never walked when the search starts at `/`. */
const VIRTUAL_ROOT_DIRS = ['/proc', '/sys', '/dev'];
const EXTENSION = /^[A-Za-z0-9_+\-.]{1,64}$/;
const MAX_LIST_ITEMS = 256;

/** Checks the search text: NUL bytes cannot reach a process argument, and rg matches line by line. */
export function checkQuery(q: string): string {
  if (q.includes('\0')) throw badParam('q', 'must not contain NUL bytes');
  if (/[\r\n]/.test(q)) throw badParam('q', 'must not contain line breaks (search matches one line at a time)');
  return q;
}

/** `go, .js,*.py` → `['go', 'js', 'py']`. */
export function parseFileTypes(value: string | undefined): string[] {
  const out: string[] = [];
  for (const raw of splitList(value, 'file_types')) {
    const ext = raw.replace(/^\*?\./, '');
    if (!EXTENSION.test(ext)) throw badParam('file_types', `'${raw.slice(0, 80)}' is not a file extension`);
    out.push(ext);
  }
  return [...new Set(out)];
}

/** `node_modules, *.min.js` → globs to skip. A leading `!` is dropped: every pattern excludes. */
export function parseIgnorePatterns(value: string | undefined): string[] {
  const out: string[] = [];
  for (const raw of splitList(value, 'ignore_patterns')) {
    if (raw.includes('\0')) throw badParam('ignore_patterns', 'must not contain NUL bytes');
    const glob = raw.replace(/^!+/, '');
    if (glob.length > 0) out.push(glob);
  }
  return out;
}

function splitList(value: string | undefined, param: string): string[] {
  if (value === undefined) return [];
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length > MAX_LIST_ITEMS) throw badParam(param, `more than ${MAX_LIST_ITEMS} items`);
  return items;
}

/**
 * The ripgrep command line of a search. `--no-config` keeps a user's
 * RIPGREP_CONFIG_PATH out; `-e` carries the query so one starting with `-`
 * is never an option; `--` ends the options before the path.
 * `--no-require-git` applies `.gitignore` files outside git repositories too,
 * as the listing does.
 */
export function buildRgArgs(s: ContentSearch, format: RgOutput = 'json'): string[] {
  const args = format === 'json' ? ['--json'] : [...TEXT_FORMAT_ARGS];
  args.push('--no-config', '--no-require-git');
  args.push(s.caseSensitive ? '--case-sensitive' : '--ignore-case');
  if (!s.regex) args.push('--fixed-strings');
  if (s.wholeWord) args.push('--word-regexp');
  if (s.contextLines > 0) args.push('--context', String(s.contextLines));
  if (s.includeHidden) args.push('--hidden');
  if (s.noGitignore) args.push('--no-ignore');
  // Whitelist globs first, exclusions after: later globs take precedence.
  for (const ext of s.fileTypes) args.push('--glob', `*.${ext}`);
  for (const glob of s.ignorePatterns) args.push('--glob', `!${glob}`);
  if (s.root === '/') for (const dir of VIRTUAL_ROOT_DIRS) args.push('--glob', `!${dir}`);
  args.push('-e', s.query, '--', s.root);
  return args;
}
