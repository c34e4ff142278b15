import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError, ErrorResponse, FileDownloadQuery } from '@cove/protocol';
import type { AgentApp, AgentContext } from '../context.js';
import { fromSystemError } from '../http/errno.js';
import { startStream } from '../http/streaming.js';
import { resolveWirePath } from '../paths/resolve.js';
import { contentTypeOf } from './content-type.js';
import { parseRange } from './http-range.js';

/**
 * `GET /files/download?path=`: the file's raw bytes, streamed from disk
 * with backpressure (files of any size), with `Content-Length` and
 * single `Range` requests (206, or 416 when unsatisfiable).
 */
export function registerDownloadRoutes(app: AgentApp, ctx: AgentContext): void {
  app.get(
    '/files/download',
    {
      schema: {
        summary: 'Download a file as raw bytes (Range supported)',
        querystring: FileDownloadQuery,
        response: {
          200: { description: 'The file', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          206: {
            description: 'A range of the file',
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const file = resolveWirePath(request.query.path, ctx.workdir);
      const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((err) => {
        throw fromSystemError(err, file);
      });
      let streaming = false;
      try {
        const info = await handle.stat();
        if (info.isDirectory())
          throw new AppError('bad_request', `path is a directory: ${file} (use POST /files/transfer/download for directories)`);
        if (!info.isFile()) throw new AppError('bad_request', `not a regular file: ${file}`);
        const size = info.size;
        const range = parseRange(request.headers.range, size);
        if (range === 'unsatisfiable') {
          throw new AppError('range_not_satisfiable', `range not satisfiable for ${size} bytes: ${request.headers.range}`, {
            'Content-Range': `bytes */${size}`,
          });
        }
        const start = range?.start ?? 0;
        const end = range?.end ?? size - 1;
        const headers: Record<string, string | number> = {
          'Content-Type': contentTypeOf(file),
          'Content-Length': Math.max(0, end - start + 1),
          'Accept-Ranges': 'bytes',
          'Last-Modified': info.mtime.toUTCString(),
          'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(path.basename(file))}`,
        };
        if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
        const stream = startStream(reply, range ? 206 : 200, headers);
        streaming = true;
        if (request.method === 'HEAD' || size === 0) {
          stream.end();
          await handle.close();
          return;
        }
        // pipeline waits for drain (backpressure) and closes the file when the client goes away.
        await pipeline(handle.createReadStream({ start, end, highWaterMark: 256 * 1024 }), stream.raw).catch((err) => {
          request.log.debug({ err, file }, 'download ended early');
          stream.raw.destroy();
        });
      } finally {
        if (!streaming) await handle.close().catch(() => {});
      }
    },
  );
}
