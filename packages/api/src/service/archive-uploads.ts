// `POST /workspace/archives/upload`: an archive made elsewhere (downloaded from another Cove, or any tar of a
// file system) arrives as the request body, streamed to a private directory of the control plane's host with a
// size cap, and waits there under an `upload_id` that `POST /workspace {"from_archive": {"upload_id"}}` names.
// Only its first bytes are looked at here (tar, gzip or zstd, else 400): its entries are checked by the driver
// when a workspace is filled from it, where hostile ones (`..`, paths through symlinks, devices, more than the
// disk holds) are refused with 400 before anything is written. An upload belongs to its account, serves any
// number of creates until it expires (an hour by default) or is deleted, and is forgotten by a restart.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '@cove/protocol';
import { FileBody, TAR_TYPES } from './request-body.js';

export interface UploadLimits {
  /** Largest archive accepted, in bytes. */
  maxBytes: number;
  /** Where uploads wait (a private directory is made in it). */
  tmpDir: string;
  /** How long an upload is kept, in ms. */
  ttlMs: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { maxBytes: 16 * 1024 ** 3, tmpDir: os.tmpdir(), ttlMs: 60 * 60_000 };

export interface ArchiveUpload {
  id: string;
  owner: string;
  file: string;
  format: 'tar' | 'tar.gz' | 'tar.zst';
  size: number;
  sha256: string;
  createdAt: Date;
  expiresAt: Date;
  /** Creates reading it now: it is not removed under them. */
  readers: number;
}

/** An upload: a tar, plain, gzipped or zstd-compressed. */
const UPLOAD = new FileBody(
  'archive',
  [...TAR_TYPES, 'application/zstd', 'application/x-zstd'],
  'application/octet-stream, application/x-tar, application/gzip or application/zstd',
);

export function checkUploadType(contentType: string | undefined): void {
  UPLOAD.checkType(contentType);
}

/** Refuses a declared size over the cap before a byte is read. */
export function checkUploadSize(contentLength: string | undefined, limits: UploadLimits): void {
  UPLOAD.checkLength(contentLength, limits.maxBytes);
}

/** The format the archive's first bytes say, or undefined (not an archive a workspace can be filled from). */
function formatOf(head: Buffer): ArchiveUpload['format'] | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'tar.zst';
  // ustar and GNU tar both write "ustar" at 257 of every header.
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

/** The uploads of one control plane. */
export class ArchiveUploads {
  readonly #limits: UploadLimits;
  readonly #uploads = new Map<string, ArchiveUpload>();
  #dir: Promise<string> | undefined;
  #closed = false;

  constructor(limits: UploadLimits) {
    this.#limits = limits;
  }

  get limits(): UploadLimits {
    return this.#limits;
  }

  #directory(): Promise<string> {
    this.#dir ??= mkdtemp(path.join(this.#limits.tmpDir, 'cove-archive-uploads-'));
    return this.#dir;
  }

  /** Receives `body` whole (413 past the cap, 400 when it is no archive) and keeps it for `owner`. */
  async receive(owner: string, body: Readable, signal: AbortSignal): Promise<ArchiveUpload> {
    if (this.#closed) throw new AppError('service_unavailable', 'the control plane is shutting down');
    await this.#sweep();
    const id = `upl_${randomBytes(12).toString('hex')}`;
    const file = path.join(await this.#directory(), id);
    try {
      const { size, sha256, head } = await receive(body, file, this.#limits, signal);
      const format = formatOf(head);
      if (!format) throw new AppError('bad_request', 'the upload is not a tar, tar.gz or tar.zst archive');
      const createdAt = new Date();
      const upload: ArchiveUpload = {
        id,
        owner,
        file,
        format,
        size,
        sha256,
        createdAt,
        expiresAt: new Date(createdAt.getTime() + this.#limits.ttlMs),
        readers: 0,
      };
      this.#uploads.set(id, upload);
      return upload;
    } catch (err) {
      await rm(file, { force: true });
      throw err;
    }
  }

  /** The owner's upload (404 for another account's, an expired or an unknown one). */
  get(owner: string, id: string): ArchiveUpload {
    const upload = this.#uploads.get(id);
    if (!upload || upload.owner !== owner || (upload.expiresAt.getTime() <= Date.now() && upload.readers === 0)) {
      throw new AppError(
        'not_found',
        `no archive upload '${id.slice(0, 64)}' (uploads are kept ${Math.round(this.#limits.ttlMs / 60_000)} min)`,
      );
    }
    return upload;
  }

  /** Runs `fn` with the upload's file, which is kept meanwhile whatever its expiry. */
  async reading<T>(upload: ArchiveUpload, fn: (file: string) => Promise<T>): Promise<T> {
    if (!this.#uploads.has(upload.id)) throw new AppError('not_found', `the archive upload '${upload.id}' was deleted meanwhile`);
    upload.readers++;
    try {
      return await fn(upload.file);
    } finally {
      upload.readers--;
      if (!this.#uploads.has(upload.id) && upload.readers === 0) await rm(upload.file, { force: true });
    }
  }

  async remove(owner: string, id: string): Promise<ArchiveUpload> {
    const upload = this.get(owner, id);
    this.#uploads.delete(id);
    if (upload.readers === 0) await rm(upload.file, { force: true });
    return upload;
  }

  async #sweep(): Promise<void> {
    const now = Date.now();
    for (const upload of [...this.#uploads.values()]) {
      if (upload.expiresAt.getTime() > now || upload.readers > 0) continue;
      this.#uploads.delete(upload.id);
      await rm(upload.file, { force: true });
    }
  }

  /** Removes every upload (the control plane's close). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#uploads.clear();
    if (this.#dir) await rm(await this.#dir, { recursive: true, force: true });
  }
}

/** Streams `body` to `file` (413 past the cap); gives its size, sha256 and first 512 bytes. */
async function receive(
  body: Readable,
  file: string,
  limits: UploadLimits,
  signal: AbortSignal,
): Promise<{ size: number; sha256: string; head: Buffer }> {
  const hash = createHash('sha256');
  const headChunks: Buffer[] = [];
  let headSize = 0;
  const onChunk = (chunk: Buffer) => {
    hash.update(chunk);
    if (headSize < 512) {
      headChunks.push(chunk);
      headSize += chunk.length;
    }
  };
  const size = await UPLOAD.toFile(body, file, { maxBytes: limits.maxBytes, signal, onChunk });
  return { size, sha256: hash.digest('hex'), head: Buffer.concat(headChunks).subarray(0, 512) };
}

export function presentUpload(upload: ArchiveUpload) {
  return {
    upload_id: upload.id,
    format: upload.format,
    size: upload.size,
    sha256: upload.sha256,
    created_at: upload.createdAt.toISOString(),
    expires_at: upload.expiresAt.toISOString(),
  };
}

/** Each control plane's uploads, found from its context by the create path (archives.ts). */
const byContext = new WeakMap<object, ArchiveUploads>();

export function registerUploads(ctx: object, uploads: ArchiveUploads): void {
  byContext.set(ctx, uploads);
}

export function uploadsOf(ctx: object): ArchiveUploads {
  const uploads = byContext.get(ctx);
  if (!uploads) throw new AppError('conflict', 'this control plane takes no archive uploads');
  return uploads;
}
