// Wire schemas of the watchers domain (`/watchers`, events on `/ws`).
import { type Static, Type } from '@sinclair/typebox';
import { Open } from './common.js';

/** Limits shared by the server and its documentation. */
export const WATCHER_LIMITS = {
  /** Watchers at once; the next create is 409 `watcher_limit`. */
  maxWatchers: 5,
  /** Changes to one path within this window collapse into one event (the last op). */
  debounceMs: 50,
  /** Patterns a client may add to the defaults. */
  maxExcludes: 256,
  maxExcludeLength: 1024,
} as const;

/** Always excluded (reference, "Default excludes"); a client's `excludes` are merged with them. */
export const DEFAULT_WATCHER_EXCLUDES: readonly string[] = [
  'node_modules',
  '.git',
  '.svn',
  '.hg',
  '__pycache__',
  '.pytest_cache',
  '.mypy_cache',
  '.next',
  '.nuxt',
  'dist',
  'build',
  '.DS_Store',
  '*.swp',
  '*.swo',
  '*~',
];

const Excludes = Type.Array(Type.String({ maxLength: WATCHER_LIMITS.maxExcludeLength }), {
  maxItems: WATCHER_LIMITS.maxExcludes,
  description:
    'Glob patterns to exclude, merged with the defaults. A pattern without `/` matches names; one with `/` matches paths relative to the root',
});

/** `POST /watchers` */
export const WatcherCreateBody = Open({
  path: Type.Optional(Type.String({ description: 'Directory to watch (recursively)' })),
  root: Type.Optional(Type.String({ description: 'Alias of `path` (official SDK)' })),
  excludes: Type.Optional(Excludes),
  exclude: Type.Optional(Excludes),
});

export type WatcherCreateBody = Static<typeof WatcherCreateBody>;

export const WatcherIdParams = Type.Object({ id: Type.String({ description: 'Watcher id, e.g. "1"' }) });

const WatcherFields = {
  id: Type.String(),
  root: Type.String({ description: 'Absolute path of the watched directory' }),
  dirs: Type.Integer({ description: 'Directories watched, the root included' }),
  excludes: Type.Array(Type.String(), { description: 'Effective patterns: defaults, then the client’s' }),
};

/** A watcher as the official SDK reads it (`.watcher`). */
export const WatcherInfo = Type.Object({
  ...WatcherFields,
  dir_count: Type.Integer({ description: 'Same as `dirs` (official SDK)' }),
  active: Type.Boolean({ description: 'False once the root was deleted or moved away' }),
});

/** `POST /watchers`, `GET /watchers/:id`: the reference's flat fields plus `watcher`. */
export const WatcherResponse = Type.Object({
  success: Type.Literal(true),
  ...WatcherFields,
  dir_count: Type.Integer(),
  active: Type.Boolean(),
  watcher: WatcherInfo,
});

/** `GET /watchers` */
export const WatcherListResponse = Type.Object({
  success: Type.Literal(true),
  watchers: Type.Array(WatcherInfo),
});

/** `DELETE /watchers/:id` */
export const WatcherDeleteResponse = Type.Object({
  success: Type.Literal(true),
  watcher_id: Type.String(),
});

/** What a `change` event's `op` can be. */
export type WatcherOp = 'create' | 'write' | 'remove' | 'rename';

// Types of the answers, for clients (the SDK) and tests.
export type WatcherInfo = Static<typeof WatcherInfo>;
export type WatcherResponse = Static<typeof WatcherResponse>;
export type WatcherDeleteResponse = Static<typeof WatcherDeleteResponse>;
