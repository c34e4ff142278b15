import { badParam, ErrorResponse, FileReadQuery, FileReadResponse } from '@cove/protocol';
import type { Static } from '@sinclair/typebox';
import type { AgentApp, AgentContext } from '../context.js';
import { extensionOf } from '../paths/code-files.js';
import { resolveWirePath } from '../paths/resolve.js';
import type { FilesOptions } from './options.js';
import { readLineRange, readWholeFile } from './read-file.js';

/** `GET /files/read`: a whole file (up to the cap) or a range of lines. */
export function registerReadRoutes(app: AgentApp, ctx: AgentContext, options: Required<FilesOptions>): void {
  app.get(
    '/files/read',
    {
      schema: {
        summary: 'Read a file, or a range of its lines',
        querystring: FileReadQuery,
        response: { 200: FileReadResponse, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const file = resolveWirePath(query.path, ctx.workdir);
      const { start_line: start, end_line: end } = query;
      const numbered = query.with_line_numbers === true;
      if (start !== undefined && end !== undefined && end < start) {
        throw badParam('end_line', `must not be less than start_line (${start})`);
      }
      const ranged = start !== undefined || end !== undefined;
      const result = ranged
        ? await readLineRange(file, { start: start ?? 1, end: end ?? Number.POSITIVE_INFINITY }, options.maxReadBytes, numbered)
        : await readWholeFile(file, options.maxReadBytes, numbered);
      const body: Static<typeof FileReadResponse> = {
        success: true as const,
        path: file,
        content: result.content,
        size: result.size,
        lines: result.lines,
        extension: extensionOf(file),
      };
      if (ranged) {
        body.start_line = start ?? 1;
        body.end_line = end ?? result.totalLines ?? result.lines;
      }
      return reply.send(body);
    },
  );
}
