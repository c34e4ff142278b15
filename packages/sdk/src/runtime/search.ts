import type {
  ContentMatch,
  ContentSearchResponse,
  FileSearchResponse,
  RipgrepInstallResponse,
  RipgrepStatusResponse,
} from '@cove/protocol';
import { toWire } from '../core/case.js';
import type { RequestOptions } from '../core/transport.js';
import type { RuntimeHttp } from './runtime-http.js';

/** One matching line. */
export type SearchMatch = ContentMatch;

export interface ContentSearchOptions {
  query: string;
  path?: string;
  caseSensitive?: boolean;
  regex?: boolean;
  wholeWord?: boolean;
  maxResults?: number;
  /** Seconds the search may take (at most 60). */
  timeout?: number;
  contextLines?: number;
  /** Extensions: `['go', 'ts']` or `'go,ts'`. */
  fileTypes?: string | string[];
  includeHidden?: boolean;
  noGitignore?: boolean;
  ignorePatterns?: string | string[];
}

/** The wire answer of `GET /files/search`: results keyed by file path. */
export type ContentSearchWire = ContentSearchResponse;

/** Content search results as the reference's SDK shows them: one item per file. */
export interface ContentSearchResult extends Omit<ContentSearchWire, 'results'> {
  results: Array<{ path: string; matches: SearchMatch[] }>;
  /** The answer exactly as the server sent it. */
  raw: ContentSearchWire;
}

export interface FileSearchOptions {
  query: string;
  path?: string;
  caseSensitive?: boolean;
  includeHidden?: boolean;
  maxResults?: number;
  ignorePatterns?: string | string[];
}

/**
 * Search in the workspace (`rt.search`): contents through ripgrep, names by a walk.
 *
 * @example
 * const found = await rt.search.content({ query: 'handleRequest', path: '/app/src', contextLines: 2 });
 * for (const file of found.results) for (const m of file.matches) console.log(file.path, m.line, m.text);
 */
export class Search {
  readonly #http: RuntimeHttp;

  constructor(http: RuntimeHttp) {
    this.#http = http;
  }

  /** Searches file contents (`GET /files/search`). */
  async content(options: ContentSearchOptions, request?: RequestOptions): Promise<ContentSearchResult> {
    const raw = await this.#http.json<ContentSearchWire>({ method: 'GET', path: '/files/search', query: query(options) }, request);
    const results = Object.entries(raw.results ?? {}).map(([path, matches]) => ({ path, matches }));
    return { ...raw, results, raw };
  }

  /**
   * Searches file names (`GET /files/search/files`).
   *
   * @example
   * const { files } = await rt.search.files({ query: 'controller', path: '/app/src' });
   */
  files(options: FileSearchOptions, request?: RequestOptions): Promise<FileSearchResponse> {
    return this.#http.json({ method: 'GET', path: '/files/search/files', query: query(options) }, request);
  }

  /** Whether ripgrep is installed (`GET /files/search/init`). */
  status(request?: RequestOptions): Promise<RipgrepStatusResponse> {
    return this.#http.json({ method: 'GET', path: '/files/search/init' }, request);
  }

  /** Installs ripgrep if it is missing (`POST /files/search/init`). */
  init(request?: RequestOptions): Promise<RipgrepInstallResponse> {
    return this.#http.json({ method: 'POST', path: '/files/search/init' }, request);
  }
}

function query(options: object): Record<string, string | number | boolean> {
  const wire = toWire(options, { query: 'q' });
  for (const [key, value] of Object.entries(wire)) if (Array.isArray(value)) wire[key] = value.join(',');
  return wire as Record<string, string | number | boolean>;
}
