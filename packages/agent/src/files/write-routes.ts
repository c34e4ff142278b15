import { chmod, mkdir, stat as statPath } from 'node:fs/promises';
import { AppError, badParam, ErrorResponse, FileMkdirBody, FileWriteBody, FileWriteResponse, PathResponse } from '@cove/protocol';
import type { AgentApp, AgentContext } from '../context.js';
import { fromSystemError } from '../http/errno.js';
import { resolveWirePath } from '../paths/resolve.js';
import { appendFile, DEFAULT_DIR_MODE, writeFileAtomic } from './atomic-write.js';
import { parseMode } from './mode.js';

/** `POST|PUT /files/write` and `POST /files/mkdir`. */
export function registerWriteRoutes(app: AgentApp, ctx: AgentContext): void {
  app.route({
    method: ['POST', 'PUT'],
    url: '/files/write',
    schema: {
      summary: 'Create or replace a file atomically (or append to it)',
      body: FileWriteBody,
      response: { 201: FileWriteResponse, '4xx': ErrorResponse },
    },
    handler: async (request, reply) => {
      const body = request.body;
      const file = resolveWirePath(body.path, ctx.workdir);
      const mode = parseMode(body.mode);
      const content = body.encoding === 'base64' ? decodeBase64(body.content) : Buffer.from(body.content, 'utf8');
      const options = { mode, createDirs: body.create_dirs === true };
      const size = body.append === true ? await appendFile(file, content, options) : await writeFileAtomic(file, content, options);
      return reply.code(201).send({ success: true, path: file, size });
    },
  });

  app.post(
    '/files/mkdir',
    {
      schema: {
        summary: 'Create a directory and its missing parents',
        body: FileMkdirBody,
        response: { 201: PathResponse, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const dir = resolveWirePath(body.path, ctx.workdir);
      const mode = parseMode(body.mode) ?? DEFAULT_DIR_MODE;
      const existing = await statPath(dir).catch(() => undefined);
      if (existing && !existing.isDirectory()) throw new AppError('already_exists', `a file exists at ${dir}`);
      if (!existing) {
        try {
          await mkdir(dir, { recursive: true, mode });
          // mkdir applies the umask; the caller's mode is applied exactly to the directory asked for.
          await chmod(dir, mode);
        } catch (err) {
          throw fromSystemError(err, dir);
        }
      }
      return reply.code(201).send({ success: true, path: dir });
    },
  );
}

function decodeBase64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text.replace(/\s+/g, ''))) throw badParam('content', 'is not valid base64');
  return Buffer.from(text, 'base64');
}
