import {
  AppError,
  ErrorResponse,
  WatcherCreateBody,
  WatcherDeleteResponse,
  WatcherIdParams,
  WatcherListResponse,
  WatcherResponse,
} from '@cove/protocol';
import type { AgentApp, AgentContext } from '../context.js';
import { resolveWirePath } from '../paths/resolve.js';
import type { WatcherInfo, WatcherRegistry } from './registry.js';

const tags = ['watchers'];

/** The reference's flat fields, plus `watcher` for the official SDK (COMPAT §6 #7). */
function withWatcher(info: WatcherInfo) {
  return { success: true as const, ...info, watcher: info };
}

/** `excludes` (reference) and `exclude` (official SDK) together; the schema typed both. */
function excludesOf(body: WatcherCreateBody): string[] {
  return [...(body.excludes ?? []), ...(body.exclude ?? [])];
}

/** The REST side of watchers: create, list, get, delete. Events go out on `/ws`. */
export function registerWatcherRoutes(app: AgentApp, ctx: AgentContext, registry: WatcherRegistry): void {
  app.post(
    '/watchers',
    {
      schema: {
        tags,
        summary: 'Watch a directory tree; changes arrive on /ws (channel "watcher")',
        body: WatcherCreateBody,
        response: { 200: WatcherResponse, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request) => {
      const body = request.body;
      // `root` is the official SDK's alias; an empty `path` beside it defers to it.
      const useRoot = (body.path === undefined || body.path === '') && body.root !== undefined;
      const given = useRoot ? body.root : body.path;
      if (given === undefined || given === '') throw new AppError('bad_request', "missing required parameter 'path'");
      const root = resolveWirePath(given, ctx.workdir, useRoot ? 'root' : 'path');
      const info = await registry.create(root, excludesOf(body));
      ctx.log.info({ watcher: info.id, root: info.root, dirs: info.dirs }, 'watcher created');
      return withWatcher(info);
    },
  );

  app.get('/watchers', { schema: { tags, summary: 'List watchers', response: { 200: WatcherListResponse } } }, async () => ({
    success: true as const,
    watchers: registry.list(),
  }));

  app.get(
    '/watchers/:id',
    {
      schema: {
        tags,
        summary: 'Get one watcher',
        params: WatcherIdParams,
        response: { 200: WatcherResponse, '4xx': ErrorResponse },
      },
    },
    async (request) => withWatcher(registry.get(request.params.id)),
  );

  // Without an id there is nothing to delete.
  app.delete('/watchers', { schema: { hide: true } }, async () => {
    throw new AppError('bad_request', 'missing watcher ID');
  });

  app.delete(
    '/watchers/:id',
    {
      schema: {
        tags,
        summary: 'Stop a watcher and release its inotify watches',
        params: WatcherIdParams,
        response: { 200: WatcherDeleteResponse, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const id = request.params.id;
      registry.delete(id);
      ctx.log.info({ watcher: id }, 'watcher deleted');
      return { success: true as const, watcher_id: id };
    },
  );
}
