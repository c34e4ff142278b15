import { cp, lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, ErrorResponse, FileMoveBody, FileMoveResponse } from '@cove/protocol';
import type { AgentApp, AgentContext } from '../context.js';
import { fromSystemError, withPath } from '../http/errno.js';
import { DEFAULT_DIR_MODE } from './atomic-write.js';
import { checkedTarget } from './remove.js';

/** `POST /files/move`: rename a file or directory (across file systems too). */
export function registerMoveRoutes(app: AgentApp, ctx: AgentContext): void {
  app.post(
    '/files/move',
    {
      schema: {
        summary: 'Move or rename a file or directory',
        body: FileMoveBody,
        response: { 200: FileMoveResponse, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const body = request.body;
      // Both ends are checked: moving /usr away, or over /usr, destroys it alike.
      const source = await checkedTarget(body.source, ctx.workdir, 'source');
      const destination = await checkedTarget(body.destination, ctx.workdir, 'destination').catch(async (err) => {
        // A missing destination parent is created on request, then checked again.
        if (!(err instanceof AppError) || err.code !== 'not_found' || body.create_dirs !== true) throw err;
        const parent = path.dirname(path.resolve(ctx.workdir, body.destination));
        await mkdir(parent, { recursive: true, mode: DEFAULT_DIR_MODE }).catch((e) => {
          throw fromSystemError(e, parent);
        });
        return checkedTarget(body.destination, ctx.workdir, 'destination');
      });
      await withPath(source.normalised, () => lstat(source.target));
      if (source.target === destination.target)
        return { success: true as const, source: source.normalised, destination: destination.normalised };
      if (destination.target.startsWith(`${source.target}/`)) {
        throw new AppError('bad_request', `cannot move ${source.normalised} into itself (${destination.normalised})`);
      }
      const existing = await lstat(destination.target).catch(() => undefined);
      if (existing) {
        if (body.overwrite !== true) {
          throw new AppError('already_exists', `destination exists: ${destination.normalised} (set overwrite to replace it)`);
        }
        await rm(destination.target, { recursive: true, force: true }).catch((err) => {
          throw fromSystemError(err, destination.normalised);
        });
      } else {
        const parent = path.dirname(destination.target);
        const parentInfo = await withPath(parent, () => stat(parent));
        if (!parentInfo.isDirectory()) throw new AppError('bad_request', `not a directory: ${parent}`);
      }
      try {
        await rename(source.target, destination.target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw fromSystemError(err, source.normalised);
        // Across file systems a move is a copy (links kept as links) and a delete.
        try {
          await cp(source.target, destination.target, {
            recursive: true,
            verbatimSymlinks: true,
            preserveTimestamps: true,
            errorOnExist: true,
            force: false,
          });
          await rm(source.target, { recursive: true, force: true });
        } catch (copyErr) {
          throw fromSystemError(copyErr, destination.normalised);
        }
      }
      return { success: true as const, source: source.normalised, destination: destination.normalised };
    },
  );
}
