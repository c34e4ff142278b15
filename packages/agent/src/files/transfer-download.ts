import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, badParam, ErrorResponse, TransferDownloadBody } from '@cove/protocol';
import type { AgentApp, AgentContext } from '../context.js';
import { withPath } from '../http/errno.js';
import { startStream } from '../http/streaming.js';
import { resolveWirePath } from '../paths/resolve.js';
import { compileGlob } from './glob.js';

/** The deepest directory containing every path: the archive's root. */
export function commonRoot(paths: readonly string[]): string {
  const parents = paths.map((p) => (p === '/' ? [] : path.posix.dirname(p).split('/').filter(Boolean)));
  let shared = parents[0] ?? [];
  for (const parts of parents.slice(1)) {
    let i = 0;
    while (i < shared.length && i < parts.length && shared[i] === parts[i]) i++;
    shared = shared.slice(0, i);
  }
  return `/${shared.join('/')}`;
}

/**
 * `POST /files/transfer/download`: the paths as one tar.gz, streamed as it is
 * built (never held in memory) and paced by the client (backpressure).
 * Entries are named relative to the paths' common parent, like
 * `tar -C /app -czf - src package.json`; links are stored as links.
 */
export function registerTransferDownload(app: AgentApp, ctx: AgentContext): void {
  app.post(
    '/files/transfer/download',
    {
      schema: {
        summary: 'Download files and directories as a streamed tar.gz',
        body: TransferDownloadBody,
        response: {
          200: { description: 'tar.gz archive', content: { 'application/gzip': { schema: { type: 'string', format: 'binary' } } } },
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const paths = body.paths.map((p, i) => resolveWirePath(p, ctx.workdir, `paths[${i}]`));
      for (const p of paths) await withPath(p, () => lstat(p));
      const excludes = (body.exclude_patterns ?? []).map((pattern, i) => {
        if (pattern.length === 0 || pattern.length > 1024) throw badParam(`exclude_patterns[${i}]`, 'must be 1 to 1024 characters');
        return compileGlob(pattern);
      });
      const root = commonRoot(paths);
      const entries = [...new Set(paths.map((p) => (p === root ? '.' : path.posix.relative(root, p))))];
      if (entries.includes('.') && entries.length > 1) throw new AppError('bad_request', 'paths overlap: one contains the others');

      // node-tar (and zlib) load with the first transfer, not at every agent's start.
      const { Pack } = await import('tar');
      const pack = new Pack({
        cwd: root,
        gzip: true,
        portable: false,
        filter: (entryPath) => {
          const rel = entryPath.replace(/^\.\//, '');
          return !excludes.some((matches) => rel !== '.' && matches(rel));
        },
        onwarn: (code, message) => request.log.warn({ code, message }, 'transfer download: entry skipped'),
      });
      const stream = startStream(reply, 200, {
        'Content-Type': 'application/gzip',
        'Content-Disposition': 'attachment; filename="transfer.tar.gz"',
      });
      for (const entry of entries) pack.add(entry);
      pack.end();
      try {
        for await (const chunk of pack as AsyncIterable<Buffer>) {
          if (!(await stream.write(chunk))) break;
        }
        stream.end();
      } catch (err) {
        // Headers are sent: all that is left is to cut the body short, so the client sees a broken archive.
        request.log.error({ err }, 'transfer download failed');
        stream.raw.destroy();
      } finally {
        if (stream.closed && !stream.raw.writableEnded) pack.destroy?.();
      }
    },
  );
}
