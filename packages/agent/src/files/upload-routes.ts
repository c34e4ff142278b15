import type { RawBodyConfig } from '@cove/http';
import { AppError, ErrorResponse, FileUploadQuery, FileWriteResponse } from '@cove/protocol';
import type { AgentApp, AgentContext } from '../context.js';
import { resolveWirePath } from '../paths/resolve.js';
import { writeFileAtomic } from './atomic-write.js';
import { parseMode } from './mode.js';

/**
 * `PUT|POST /files/upload?path=`: the raw request body becomes the file. The
 * body streams to a temporary file beside the target (never held in memory,
 * so files of any size fit) and is renamed over it once complete: a broken
 * upload leaves the previous file untouched.
 */
export function registerUploadRoutes(app: AgentApp, ctx: AgentContext): void {
  const config: RawBodyConfig = { rawBody: true };
  app.route({
    method: ['PUT', 'POST'],
    url: '/files/upload',
    config,
    bodyLimit: Number.MAX_SAFE_INTEGER,
    schema: {
      summary: 'Upload raw bytes as a file, atomically',
      querystring: FileUploadQuery,
      response: { 201: FileWriteResponse, '4xx': ErrorResponse },
    },
    handler: async (request, reply) => {
      const query = request.query;
      const file = resolveWirePath(query.path, ctx.workdir);
      const mode = parseMode(query.mode);
      const size = await writeFileAtomic(file, request.raw, { mode, createDirs: query.create_dirs === true }).catch((err) => {
        // A client that goes away mid-body is not a server fault; the temp file is already removed.
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error).message === 'aborted') {
          throw new AppError('bad_request', `upload of ${file} interrupted before the end of the body`);
        }
        throw err;
      });
      return reply.code(201).send({ success: true, path: file, size });
    },
  });
}
