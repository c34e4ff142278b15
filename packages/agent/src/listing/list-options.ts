import { DEFAULT_CONTENT_BUDGET, DEFAULT_MAX_DEPTH, type ListQuery } from '@cove/protocol';
import { extensionOf, isCodeFile } from '../paths/code-files.js';
import { resolveOptionalPath } from '../paths/resolve.js';
import { IgnoreChain, parsePatterns, type RuleSet } from './ignore-rules.js';

/** What an entry is, as the walk sees it; `other` (FIFO, socket, device) is reported as a file and never opened. */
export type Kind = 'file' | 'directory' | 'symlink' | 'other';

/** A listing's parameters, parsed once. */
export interface ListOptions {
  readonly root: string;
  readonly recurse: boolean;
  /** Deepest level listed (the root's children are level 1). */
  readonly maxDepth: number;
  readonly light: boolean;
  readonly includeHash: boolean;
  readonly includeContent: boolean;
  readonly includeExtensions: boolean;
  readonly useGitignore: boolean;
  readonly contentBudget: number;
  readonly filter: EntryFilter;
}

/** Lower-cased extensions with their dot, from `js,.TS, go`; undefined when empty. */
export function parseExtensions(value: string | undefined): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  const exts = new Set<string>();
  for (const raw of value.split(',')) {
    const ext = raw.trim().toLowerCase().replace(/^\.+/, '');
    if (ext !== '') exts.add(`.${ext}`);
  }
  return exts.size === 0 ? undefined : exts;
}

/**
 * Which entries a walk leaves out (exclusions: their whole subtree goes) and
 * which it reports (selection: `path_filter`, `include_ext`,
 * `code_files_only`). Paths are relative to the walk's root.
 */
export class EntryFilter {
  readonly #patterns: RuleSet | undefined;
  readonly #useGitignore: boolean;
  readonly #skipHidden: boolean;
  readonly #pathFilter: string | undefined;
  readonly #caseSensitive: boolean;
  readonly #exts: ReadonlySet<string> | undefined;
  readonly #multiDotExts: readonly string[];
  readonly #codeOnly: boolean;

  constructor(options: {
    patterns?: string | undefined;
    useGitignore: boolean;
    skipHidden?: boolean;
    pathFilter?: string | undefined;
    caseSensitive?: boolean;
    includeExt?: string | undefined;
    codeFilesOnly?: boolean;
  }) {
    this.#patterns = parsePatterns(options.patterns);
    this.#useGitignore = options.useGitignore;
    this.#skipHidden = options.skipHidden ?? false;
    this.#caseSensitive = options.caseSensitive ?? false;
    const pathFilter = options.pathFilter === '' ? undefined : options.pathFilter;
    this.#pathFilter = pathFilter === undefined || this.#caseSensitive ? pathFilter : pathFilter.toLowerCase();
    this.#exts = parseExtensions(options.includeExt);
    this.#multiDotExts = [...(this.#exts ?? [])].filter((e) => e.indexOf('.', 1) > 0);
    this.#codeOnly = options.codeFilesOnly ?? false;
  }

  get useGitignore(): boolean {
    return this.#useGitignore;
  }

  /** Whether `ignore_patterns` were given. */
  get hasPatterns(): boolean {
    return this.#patterns !== undefined;
  }

  /**
   * Whether a filter applies to files only (`include_ext`, `code_files_only`):
   * then a directory is reported only when it holds a reported entry (or its
   * contents were not examined, so it may).
   */
  get selectsFiles(): boolean {
    return this.#codeOnly || this.#exts !== undefined;
  }

  /** Whether any selection filter is set (`path_filter` too): then not every entry met is reported. */
  get selects(): boolean {
    return this.selectsFiles || this.#pathFilter !== undefined;
  }

  /** Whether an entry and everything below it is left out. */
  excludes(relative: string, name: string, isDir: boolean, chain: IgnoreChain | undefined): boolean {
    if (this.#skipHidden && name.charCodeAt(0) === 46 /* . */) return true;
    if (this.#patterns?.walkVerdict(isDir ? `${relative}/` : relative)) return true;
    if (!this.#useGitignore) return false;
    if (isDir && name === '.git') return true;
    return chain !== undefined && IgnoreChain.ignores(chain, relative, isDir);
  }

  /** `path_filter` alone (it applies to directories too). */
  matchesPath(relative: string): boolean {
    if (this.#pathFilter === undefined) return true;
    return (this.#caseSensitive ? relative : relative.toLowerCase()).includes(this.#pathFilter);
  }

  /** Every selection filter, for a non-directory. */
  matchesFile(relative: string, name: string): boolean {
    if (this.#codeOnly && !isCodeFile(name)) return false;
    if (this.#exts && !this.#matchesExt(name)) return false;
    return this.matchesPath(relative);
  }

  #matchesExt(name: string): boolean {
    const exts = this.#exts;
    if (!exts) return true;
    if (exts.has(extensionOf(name))) return true;
    if (this.#multiDotExts.length === 0) return false;
    const lower = name.toLowerCase();
    return this.#multiDotExts.some((ext) => lower.endsWith(ext) && lower.length > ext.length);
  }
}

/** Parses the validated query of `GET /files` and `GET /files/stream`. */
export function parseListQuery(query: ListQuery, workdir: string, streaming: boolean): ListOptions {
  return {
    root: resolveOptionalPath(query.path, '/', workdir),
    recurse: streaming || query.nested === true,
    maxDepth: query.max_depth ?? DEFAULT_MAX_DEPTH,
    light: query.light === true,
    includeHash: query.include_hash === true,
    includeContent: query.include_content === true,
    includeExtensions: query.include_extensions === true,
    useGitignore: query.use_gitignore !== false,
    contentBudget: query.max_content_budget ?? DEFAULT_CONTENT_BUDGET,
    filter: new EntryFilter({
      patterns: query.ignore_patterns,
      useGitignore: query.use_gitignore !== false,
      pathFilter: query.path_filter,
      includeExt: query.include_ext,
      codeFilesOnly: query.code_files_only === true,
    }),
  };
}
