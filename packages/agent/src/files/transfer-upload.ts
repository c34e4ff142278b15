import { mkdir, realpath, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { RawBodyConfig } from '@cove/http';
import { AppError, ErrorResponse, TransferUploadQuery, TransferUploadResponse } from '@cove/protocol';
import type { AgentApp, AgentContext } from '../context.js';
import { fromSystemError } from '../http/errno.js';
import { resolveOptionalPath } from '../paths/resolve.js';
import { DEFAULT_DIR_MODE } from './atomic-write.js';

/** Warnings from node-tar that mean an entry tried to leave the destination. */
const UNSAFE = /contains '\.\.'|escape|escaped|symbolic link|absolute/i;

/**
 * `POST /files/transfer/upload?dest=`: a tar or tar.gz request body (possibly
 * chunked) is extracted into `dest` as it arrives. Entries that would land
 * outside `dest` — `..`, absolute paths, paths through symlinks — abort the
 * extraction with a 400; links already in `dest` are never followed.
 */
export function registerTransferUpload(app: AgentApp, ctx: AgentContext): void {
  const config: RawBodyConfig = { rawBody: true };
  app.post(
    '/files/transfer/upload',
    {
      config,
      bodyLimit: Number.MAX_SAFE_INTEGER,
      schema: {
        summary: 'Upload a tar.gz and extract it into a directory',
        querystring: TransferUploadQuery,
        response: { 200: TransferUploadResponse, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const requested = resolveOptionalPath(request.query.dest, '/', ctx.workdir, 'dest');
      const existing = await stat(requested).catch(() => undefined);
      if (existing && !existing.isDirectory()) throw new AppError('bad_request', `dest is not a directory: ${requested}`);
      if (!existing) {
        await mkdir(requested, { recursive: true, mode: DEFAULT_DIR_MODE }).catch((err) => {
          throw fromSystemError(err, requested);
        });
      }
      // node-tar compares entry paths against its cwd textually: give it the real one.
      const dest = await realpath(requested);
      let extracted = 0;
      let refusal: string | undefined;
      // node-tar (and zlib) load with the first transfer, not at every agent's start.
      const { Unpack } = await import('tar');
      const unpack = new Unpack({
        cwd: dest,
        strict: true,
        // Files belong to the agent's user, not to whoever built the archive elsewhere.
        preserveOwner: false,
        onReadEntry: () => {
          extracted++;
        },
        onwarn: (code, message) => {
          request.log.debug({ code, message: String(message) }, 'transfer upload warning');
        },
      });
      try {
        await pipeline(request.raw, unpack);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const tarCode = (err as { tarCode?: string; code?: string }).tarCode ?? (err as { code?: string }).code;
        request.log.debug({ err }, 'transfer upload failed');
        if (typeof tarCode === 'string' && tarCode.startsWith('TAR_')) {
          refusal =
            UNSAFE.test(message) || (err as Error).name === 'SymlinkError'
              ? `unsafe archive entry refused: ${message}`
              : `invalid archive: ${message}`;
        } else if ((err as Error).name === 'SymlinkError') {
          refusal = `unsafe archive entry refused: ${message}`;
        } else if (
          (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' ||
          (err as NodeJS.ErrnoException).code === 'ECONNRESET'
        ) {
          refusal = 'upload interrupted';
        } else {
          throw fromSystemError(err, dest);
        }
      }
      if (refusal !== undefined) throw new AppError('bad_request', refusal);
      return { success: true as const, dest: requested, files_extracted: extracted };
    },
  );
}
