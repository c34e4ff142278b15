// Wire schemas of the listing domain: `GET /files`, `GET /files/stream`,
// `GET /files/search/files`.
import { type Static, Type } from '@sinclair/typebox';
import { Open, QueryBool } from './common.js';

/** Entries a listing returns at most before it stops and says `truncated`. */
export const LIST_ENTRY_CAP = 50_000;
/** Default of `max_content_budget`: total bytes of inlined file content. */
export const DEFAULT_CONTENT_BUDGET = 50 * 1024 * 1024;
/** Default of `max_depth`. */
export const DEFAULT_MAX_DEPTH = 20;
/** Longest filename-search query. */
export const MAX_QUERY_LENGTH = 1000;
/** Default of `max_results` for filename search. */
export const DEFAULT_FILE_SEARCH_RESULTS = 200;

/** The query of `GET /files` and `GET /files/stream` (the stream ignores `nested`/`flatten`: always on). */
export const ListQuery = Open({
  path: Type.Optional(Type.String({ description: 'Directory to list; default `/`.' })),
  nested: Type.Optional(QueryBool(false, 'Recurse into subdirectories.')),
  flatten: Type.Optional(QueryBool(false, 'A flat list sorted by path instead of a tree.')),
  light: Type.Optional(QueryBool(false, 'Omit `size` and `modified` (no stat per entry).')),
  include_hash: Type.Optional(QueryBool(false, 'SHA-256 (hex) of each regular file.')),
  include_content: Type.Optional(QueryBool(false, 'Inline the content of text files, within `max_content_budget`.')),
  include_extensions: Type.Optional(QueryBool(false, 'Add `extension` (with its dot, lower-case) to files.')),
  code_files_only: Type.Optional(QueryBool(false, 'Only code and configuration files (directories holding none are left out).')),
  use_gitignore: Type.Optional(QueryBool(true, 'Apply `.gitignore` files the way git does, nested ones included.')),
  max_depth: Type.Optional(
    Type.Integer({
      minimum: 1,
      default: DEFAULT_MAX_DEPTH,
      description: 'Deepest level listed; the directory’s children are depth 1.',
    }),
  ),
  path_filter: Type.Optional(Type.String({ maxLength: 4096, description: 'Case-insensitive substring of the path relative to `path`.' })),
  include_ext: Type.Optional(Type.String({ maxLength: 4096, description: 'Comma-separated extensions, with or without dots.' })),
  ignore_patterns: Type.Optional(Type.String({ maxLength: 16384, description: 'Comma-separated globs (gitignore syntax) to leave out.' })),
  max_content_budget: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: DEFAULT_CONTENT_BUDGET,
      description: 'Total bytes of inlined content; later entries carry none once it is spent.',
    }),
  ),
});
export type ListQuery = Static<typeof ListQuery>;

/** One entry of a listing (and one NDJSON line of the stream). */
export const FileEntry = Type.Object(
  {
    name: Type.String(),
    path: Type.String({ description: 'Absolute path.' }),
    type: Type.Union([Type.Literal('file'), Type.Literal('directory'), Type.Literal('symlink')]),
    size: Type.Optional(Type.Integer({ description: 'Bytes (the link itself for symlinks); absent when `light`.' })),
    modified: Type.Optional(Type.String({ description: 'ISO 8601 modification time; absent when `light`.' })),
    extension: Type.Optional(Type.String()),
    content: Type.Optional(Type.String()),
    hash: Type.Optional(Type.String({ description: 'SHA-256, hex.' })),
    children: Type.Optional(
      Type.Array(Type.Unknown(), {
        description: 'Tree mode: entries of a directory whose contents were listed, sorted by name.',
      }),
    ),
  },
  { additionalProperties: true },
);
export type FileEntry = Static<typeof FileEntry>;

/** `GET /files` */
export const ListResponse = Type.Object({
  success: Type.Literal(true),
  path: Type.String(),
  entries: Type.Array(FileEntry),
  count: Type.Integer({ description: 'Entries returned, nested ones included.' }),
  truncated: Type.Optional(Type.Literal(true)),
});
export type ListResponse = Static<typeof ListResponse>;

/** The control lines of `GET /files/stream` (entries are `FileEntry` lines). */
export const StreamEvent = Type.Union([
  Type.Object({ event: Type.Literal('start'), path: Type.String() }),
  Type.Object({ event: Type.Literal('done'), count: Type.Integer() }),
  Type.Object({ event: Type.Literal('error'), error: Type.String() }),
]);
export type StreamEvent = Static<typeof StreamEvent>;

/** The query of `GET /files/search/files`. */
export const FileSearchQuery = Open({
  q: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH, description: 'Substring of the relative path.' }),
  path: Type.Optional(Type.String({ description: 'Directory to search in; default `/`.' })),
  case_sensitive: Type.Optional(QueryBool(false, 'Case-sensitive matching.')),
  include_hidden: Type.Optional(QueryBool(false, 'Include hidden files and directories.')),
  max_results: Type.Optional(
    Type.Integer({
      minimum: 1,
      default: DEFAULT_FILE_SEARCH_RESULTS,
      description: 'Most paths returned (larger values count as 50,000).',
    }),
  ),
  ignore_patterns: Type.Optional(Type.String({ maxLength: 16384, description: 'Comma-separated globs to skip.' })),
  use_gitignore: Type.Optional(QueryBool(true, 'Extra: apply `.gitignore` files (as `fd` does). `no_gitignore=true` also turns it off.')),
  no_gitignore: Type.Optional(QueryBool(false, 'Extra: alias of `use_gitignore=false`.')),
});
export type FileSearchQuery = Static<typeof FileSearchQuery>;

/** `GET /files/search/files` */
export const FileSearchResponse = Type.Object({
  success: Type.Literal(true),
  query: Type.String(),
  path: Type.String(),
  files: Type.Array(Type.String(), { description: 'Paths relative to `path`, sorted.' }),
  total_files: Type.Integer(),
  capped: Type.Boolean({ description: 'True when `max_results` cut the list.' }),
});
export type FileSearchResponse = Static<typeof FileSearchResponse>;
