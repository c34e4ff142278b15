import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError, type ImageSummary, type WorkspaceDriver } from '@cove/protocol';
import { catalogOf, checkReference } from './images.js';
import { FileBody, TAR_TYPES } from './request-body.js';

/**
 * `POST /workspace/images/import`: the archive arrives as the request body (a `docker save` tar or a tar
 * of an OCI layout, either possibly gzipped), is streamed to a private temporary directory on the host
 * with a size cap, handed to the store (which tells the kinds apart and refuses anything else), and removed.
 */

export interface ImportLimits {
  /** Largest archive accepted, in bytes. */
  maxBytes: number;
  /** Where archives wait while the store imports them (a private directory is made in it per import). */
  tmpDir: string;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = { maxBytes: 16 * 1024 ** 3, tmpDir: os.tmpdir() };

/** An image archive: a tar, plain or gzipped. */
const IMPORT = new FileBody('image archive', TAR_TYPES, 'application/x-tar or application/octet-stream');

export function checkArchiveType(contentType: string | undefined): void {
  IMPORT.checkType(contentType);
}

/** Refuses a declared size over the cap before a byte is read. */
export function checkDeclaredSize(contentLength: string | undefined, limits: ImportLimits): void {
  IMPORT.checkLength(contentLength, limits.maxBytes);
}

/**
 * What of a refused upload is still read (and thrown away) so that the client, still sending, reads the
 * refusal: closing a socket with unread data resets the connection, and the answer with it. Past this the
 * connection is closed anyway.
 */
export const DRAIN_LIMIT = 32 * 1024 * 1024;

/**
 * Reads and discards the rest of a refused upload (up to `DRAIN_LIMIT`, then the connection is cut), so that
 * the refusal reaches a client that sends before it reads.
 */
export function discardRest(body: Readable): void {
  if ((body as { complete?: boolean }).complete || body.destroyed) return;
  let drained = 0;
  body.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT) body.destroy();
  });
  body.on('error', () => {});
  body.resume();
}

/** Receives the archive in `body` and imports it into the driver's store; the temporary copy is removed. */
export async function importImage(
  driver: WorkspaceDriver,
  body: Readable,
  options: { name?: string | undefined; limits: ImportLimits; signal: AbortSignal },
): Promise<ImageSummary[]> {
  if (options.name !== undefined) checkReference(options.name, 'image name');
  const catalog = catalogOf(driver);
  const dir = await mkdtemp(path.join(options.limits.tmpDir, 'cove-import-'));
  try {
    const file = path.join(dir, 'archive.tar');
    await IMPORT.toFile(body, file, { maxBytes: options.limits.maxBytes, signal: options.signal });
    return await catalog.import(file, { ...(options.name !== undefined ? { name: options.name } : {}), signal: options.signal });
  } catch (err) {
    // The store names the file it read; the client sent an archive and knows no server paths.
    if (err instanceof AppError) throw new AppError(err.code, err.message.replaceAll(path.join(dir, 'archive.tar'), 'the archive'));
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
