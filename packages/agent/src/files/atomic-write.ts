import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '@cove/protocol';
import { fromSystemError } from '../http/errno.js';

/** Default permissions of a file the API creates. */
export const DEFAULT_FILE_MODE = 0o644;
/** Default permissions of a directory the API creates. */
export const DEFAULT_DIR_MODE = 0o755;
/** Prefix of in-flight temporary files, so they are recognisable (and ignorable) beside their target. */
export const TEMP_PREFIX = '.cove-tmp-';

export interface WriteOptions {
  /** Explicit permissions; otherwise a new file gets 0644 and an existing one keeps its own. */
  mode?: number | undefined;
  /** Create missing parent directories (0755). */
  createDirs?: boolean | undefined;
}

/** Where a write lands and what it replaces, after symlinks and parents are checked. */
interface Destination {
  /** The file actually written: a symlink at the requested path is written through. */
  file: string;
  existing: Stats | undefined;
}

/**
 * Finds where a write to `requested` lands. A directory there is a 400; a
 * missing parent is a 404 unless `createDirs`; a symlink is written through
 * (like `echo > link`), so the link survives and its target changes.
 */
async function destination(requested: string, createDirs: boolean): Promise<Destination> {
  let file = requested;
  let existing = await lstat(file).catch(ignoreMissing(requested));
  if (existing?.isSymbolicLink()) {
    file = await realpath(requested).catch(async () => path.resolve(path.dirname(requested), await readlink(requested)));
    existing = await stat(file).catch(ignoreMissing(requested));
  }
  if (existing?.isDirectory()) throw new AppError('bad_request', `path is a directory: ${requested}`);
  if (existing && !existing.isFile()) throw new AppError('bad_request', `not a regular file: ${requested}`);
  if (!existing) {
    const parent = path.dirname(file);
    const parentStat = await stat(parent).catch(ignoreMissing(parent));
    if (!parentStat) {
      if (!createDirs) throw new AppError('not_found', `parent directory not found: ${parent} (set create_dirs to create it)`);
      await mkdir(parent, { recursive: true, mode: DEFAULT_DIR_MODE }).catch((err) => {
        throw fromSystemError(err, parent);
      });
    } else if (!parentStat.isDirectory()) {
      throw new AppError('bad_request', `parent is not a directory: ${parent}`);
    }
  }
  return { file, existing };
}

function ignoreMissing(subject: string) {
  return (err: NodeJS.ErrnoException): undefined => {
    if (err.code === 'ENOENT') return undefined;
    throw fromSystemError(err, subject);
  };
}

/**
 * Replaces a file atomically: the content goes to a temporary file in the
 * same directory, is fsynced, then renamed over the target, and the
 * directory is fsynced so the rename itself survives a crash. Readers see
 * the old content or the new, never a mix, and a crash at any point leaves
 * one of the two. `source` is a buffer or a stream (uploads of any size).
 * Resolves to the new file's size.
 */
export async function writeFileAtomic(requested: string, source: Uint8Array | Readable, options: WriteOptions = {}): Promise<number> {
  const { file, existing } = await destination(requested, options.createDirs === true);
  const dir = path.dirname(file);
  const temp = path.join(dir, `${TEMP_PREFIX}${path.basename(file).slice(0, 100)}-${randomBytes(6).toString('hex')}`);
  const mode = options.mode ?? (existing ? existing.mode & 0o7777 : DEFAULT_FILE_MODE);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    if (source instanceof Uint8Array) {
      if (source.byteLength > 0) await handle.writeFile(source);
    } else {
      await copyStream(source, handle);
    }
    // The umask must not change what the caller asked for, so the mode is set explicitly.
    await handle.chmod(mode);
    // An existing file keeps its owner, as editors that replace files do.
    if (existing && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.())) {
      await handle.chown(existing.uid, existing.gid).catch(() => {});
    }
    await handle.sync();
    const { size } = await handle.stat();
    await handle.close();
    handle = undefined;
    await rename(temp, file);
    await syncDirectory(dir);
    return size;
  } catch (err) {
    await handle?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw fromSystemError(err, requested);
  }
}

/**
 * Appends to a file (not atomic, by nature). A new file gets `mode` or 0644;
 * an existing one keeps its permissions unless `mode` is given.
 */
export async function appendFile(requested: string, content: Uint8Array, options: WriteOptions = {}): Promise<number> {
  const { file, existing } = await destination(requested, options.createDirs === true);
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, options.mode ?? DEFAULT_FILE_MODE);
    if (!existing || options.mode !== undefined) await handle.chmod(options.mode ?? DEFAULT_FILE_MODE);
    if (content.byteLength > 0) await handle.writeFile(content);
    await handle.sync();
    const { size } = await handle.stat();
    return size;
  } catch (err) {
    throw fromSystemError(err, requested);
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** fsyncs a directory so that a rename or creation in it is durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Copies a stream into a file. Reading waits while a write is in flight, so
 * memory holds at most one batch (small network chunks are gathered into
 * writes of up to 1 MiB).
 */
async function copyStream(source: Readable, handle: FileHandle): Promise<void> {
  const BATCH = 1024 * 1024;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const data = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await handle.writeFile(data);
  };
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes >= BATCH) await flush();
  }
  await flush();
}
