// Wire schemas of the search domain: `GET /files/search` (content search with
// ripgrep) and `GET|POST /files/search/init` (ripgrep status and install).
// Filename search (`GET /files/search/files`) belongs to listing.ts.
import { type Static, Type } from '@sinclair/typebox';
import { Open, QueryBool } from './common.js';

/** Longest content-search query, in characters. */
export const CONTENT_QUERY_MAX_LENGTH = 1000;
/** Default of `max_results` (matching lines). */
export const DEFAULT_CONTENT_RESULTS = 100;
/** Default and largest `timeout`, in seconds. */
export const DEFAULT_SEARCH_TIMEOUT = 10;
export const MAX_SEARCH_TIMEOUT = 60;
/** Largest `context_lines`. */
export const MAX_CONTEXT_LINES = 10;
/** Characters of a line returned at most; longer lines are cut and marked `truncated`. */
export const SEARCH_LINE_MAX_CHARS = 1000;

/** The query of `GET /files/search`. */
export const ContentSearchQuery = Open({
  q: Type.String({ minLength: 1, maxLength: CONTENT_QUERY_MAX_LENGTH, description: 'Text (or regex) to search for.' }),
  path: Type.Optional(Type.String({ description: 'Directory or file to search; default `/`.' })),
  case_sensitive: Type.Optional(QueryBool(false, 'Case-sensitive matching.')),
  regex: Type.Optional(QueryBool(false, 'Treat `q` as a regular expression (Rust regex syntax); otherwise it is literal.')),
  whole_word: Type.Optional(QueryBool(false, 'Match whole words only.')),
  max_results: Type.Optional(
    Type.Integer({ minimum: 1, default: DEFAULT_CONTENT_RESULTS, description: 'Most matching lines returned; `capped` says more exist.' }),
  ),
  timeout: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_SEARCH_TIMEOUT,
      default: DEFAULT_SEARCH_TIMEOUT,
      description: 'Seconds before the search is abandoned (504 `search_timeout`).',
    }),
  ),
  context_lines: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_CONTEXT_LINES, default: 0, description: 'Lines of context before and after each match.' }),
  ),
  file_types: Type.Optional(
    Type.String({ maxLength: 4096, description: 'Comma-separated extensions (`go,js,py`); only those files are searched.' }),
  ),
  include_hidden: Type.Optional(QueryBool(false, 'Search hidden files and directories too.')),
  no_gitignore: Type.Optional(QueryBool(false, 'Do not apply `.gitignore` (and `.ignore`) rules.')),
  ignore_patterns: Type.Optional(Type.String({ maxLength: 16384, description: 'Comma-separated globs of paths to skip.' })),
});
export type ContentSearchQuery = Static<typeof ContentSearchQuery>;

/** One matching line. */
export const ContentMatch = Type.Object({
  line: Type.Integer({ description: '1-based line number.' }),
  column: Type.Integer({ description: '1-based column (UTF-16 code units) of the first match on the line.' }),
  text: Type.String({ description: 'The line, without its line break (invalid UTF-8 replaced by U+FFFD).' }),
  truncated: Type.Optional(
    Type.Literal(true, { description: `The line was longer than ${SEARCH_LINE_MAX_CHARS} characters and was cut.` }),
  ),
  context_before: Type.Optional(Type.Array(Type.String(), { description: 'Up to `context_lines` lines before the match.' })),
  context_after: Type.Optional(Type.Array(Type.String(), { description: 'Up to `context_lines` lines after the match.' })),
});
export type ContentMatch = Static<typeof ContentMatch>;

/** `GET /files/search` */
export const ContentSearchResponse = Type.Object({
  success: Type.Literal(true),
  query: Type.String(),
  path: Type.String({ description: 'The searched path, absolute.' }),
  results: Type.Record(Type.String(), Type.Array(ContentMatch), {
    description: 'Matches keyed by file path relative to `path` (the file name when `path` is a file).',
  }),
  total_matches: Type.Integer({ description: 'Matching lines returned.' }),
  total_files: Type.Integer({ description: 'Files with at least one match returned.' }),
  capped: Type.Boolean({ description: '`max_results` (or the response size limit) was reached before all matches were found.' }),
});
export type ContentSearchResponse = Static<typeof ContentSearchResponse>;

/** `GET /files/search/init` */
export const RipgrepStatusResponse = Type.Object({
  success: Type.Literal(true),
  installed: Type.Boolean(),
  path: Type.Optional(Type.String()),
  version: Type.Optional(Type.String({ description: 'First line of `rg --version`, e.g. `ripgrep 14.1.0`.' })),
  message: Type.Optional(Type.String()),
  installing: Type.Optional(Type.Literal(true, { description: 'An install started by `POST` is running.' })),
});
export type RipgrepStatusResponse = Static<typeof RipgrepStatusResponse>;

/** `POST /files/search/init` */
export const RipgrepInstallResponse = Type.Object({
  success: Type.Literal(true),
  installed: Type.Literal(true),
  path: Type.String(),
  version: Type.String(),
  method: Type.String({ description: '`already_installed`, `bundled` (copied from a copy the agent ships) or `apt-get`.' }),
  message: Type.String(),
});
export type RipgrepInstallResponse = Static<typeof RipgrepInstallResponse>;
