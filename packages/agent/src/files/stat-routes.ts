import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { ErrorResponse, FileStatQuery, FileStatResponse } from '@cove/protocol';
import type { Static } from '@sinclair/typebox';
import type { AgentApp, AgentContext } from '../context.js';
import { withPath } from '../http/errno.js';
import { extensionOf, isCodeFile } from '../paths/code-files.js';
import { resolveWirePath } from '../paths/resolve.js';
import { formatMode } from './mode.js';

/** RFC 3339 without fractional seconds, as the reference shows ("2025-01-15T10:30:00Z"). */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `GET /files/stat`: metadata of a path; a symlink is reported as itself (lstat). */
export function registerStatRoutes(app: AgentApp, ctx: AgentContext): void {
  app.get(
    '/files/stat',
    {
      schema: {
        summary: 'Metadata of a file, directory or symlink',
        querystring: FileStatQuery,
        response: { 200: FileStatResponse, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const target = resolveWirePath(request.query.path, ctx.workdir);
      const info = await withPath(target, () => lstat(target));
      const name = target === '/' ? '/' : path.basename(target);
      const type = info.isSymbolicLink() ? 'symlink' : info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other';
      const body: Static<typeof FileStatResponse> = {
        success: true as const,
        path: target,
        name,
        type,
        size: type === 'symlink' ? 0 : info.size,
        modified: rfc3339(info.mtime),
        permissions: formatMode(info.mode),
        is_code: type === 'file' && isCodeFile(name),
      };
      if (type === 'file') body.extension = extensionOf(name);
      if (type === 'symlink') body.symlink_target = await withPath(target, () => readlink(target));
      return reply.send(body);
    },
  );
}
