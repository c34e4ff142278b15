import { badParam, ErrorResponse, FileDeleteBody, FileDeleteQuery, PathResponse } from '@cove/protocol';
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
      body: FileDeleteBody,
      response: { 200: PathResponse, '4xx': ErrorResponse },
    },
    handler: async (request) => {
      const fromQuery = request.query.path;
      const fromBody = request.body?.path;
      const input = fromQuery !== undefined && fromQuery !== '' ? fromQuery : fromBody;
      if (input === undefined || input === '') throw badParam('path', 'is required (in the query or the body)');
      const removed = await removePath(input, ctx.workdir);
      return { success: true as const, path: removed };
    },
  });
}
