import { badParam, ErrorResponse, FileDeleteQuery, PathResponse } from '@cove/protocol';
import type { AgentApp, AgentContext } from '../context.js';
import { removePath } from './remove.js';

/**
 * `DELETE /files/delete?path=` (the reference) and `POST /files/delete`
 * with `{"path"}` (what the official SDK sends); the path may come from the
 * query or the body under either method.
 */
export function registerDeleteRoutes(app: AgentApp, ctx: AgentContext): void {
  app.route({
    method: ['DELETE', 'POST'],
    url: '/files/delete',
    schema: {
      summary: 'Delete a file, symlink or directory (recursively); system paths are protected',
      querystring: FileDeleteQuery,
      response: { 200: PathResponse, '4xx': ErrorResponse },
    },
    handler: async (request) => {
      const fromQuery = (request.query as { path?: unknown }).path;
      const body = request.body;
      const fromBody = body !== null && typeof body === 'object' ? (body as { path?: unknown }).path : undefined;
      const input = fromQuery !== undefined && fromQuery !== '' ? fromQuery : fromBody;
      if (input === undefined || input === null || input === '') throw badParam('path', 'is required (in the query or the body)');
      const removed = await removePath(input, ctx.workdir);
      return { success: true as const, path: removed };
    },
  });
}
