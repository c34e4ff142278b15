// A tar file as it is stored: gzip, zstd or plain, told apart by its first bytes, read through a decompressor
// that can be stopped once the reader has its answer.
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ChunkReader } from './chunk-reader.js';
import { TarError } from './tar-format.js';
import { type OnEntry, readEntries, type TarReadOptions } from './tar-reader.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export function compressionOf(file: string): Compression {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (n === 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    closeSync(fd);
  }
}

export interface Decompressed {
  stream: AsyncIterable<Buffer>;
  /** Settles once the decompressor has finished; a `TarError` when the file is not what its first bytes say. */
  done: Promise<void>;
  /** Stops reading (the rest is of no interest). */
  stop: () => void;
}

/** The file's tar bytes. `what` names it in messages: `the archive is not valid gzip: …`. */
export function decompressed(file: string, what: string, signal?: AbortSignal): Decompressed {
  const kind = compressionOf(file);
  const aborts = signal ? { signal } : {};
  if (kind === 'zstd') {
    // Node 20 has no zstd: Debian's (a dependency of the image tools already).
    const child = spawn('zstd', ['-dcq', '--', file], { stdio: ['ignore', 'pipe', 'pipe'], ...aborts });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d.slice(0, 2000);
    });
    const done = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) =>
        code === 0 ? resolve() : reject(new TarError(`the ${what} is not valid zstd: ${stderr.trim().slice(0, 200)}`)),
      );
    });
    const stop = () => {
      // Its output dropped too: the child's 'close' waits for a stdout nobody reads any more.
      child.stdout.destroy();
      child.kill('SIGTERM');
    };
    return { stream: child.stdout, done, stop };
  }
  const source = createReadStream(file, { highWaterMark: 1 << 20, ...aborts });
  if (kind === 'none') return { stream: source, done: Promise.resolve(), stop: () => source.destroy() };
  const gunzip = createGunzip({ chunkSize: 1 << 18 });
  const done = pipeline(source, gunzip).catch((err: Error) => {
    throw new TarError(`the ${what} is not valid gzip: ${err.message}`);
  });
  return { stream: gunzip, done, stop: () => gunzip.destroy() };
}

/**
 * Reads every header of the tar file up to its end marker, then stops its decompressor: for a check before
 * another tool unpacks it (nothing is hashed; what follows the end marker is not read).
 */
export async function walkTarFile(file: string, onEntry: OnEntry, options: TarReadOptions): Promise<void> {
  await throughDecompressor(file, onEntry, options, false);
}

/**
 * Reads the whole tar file as `readTar` does (every entry, the sha256 of the uncompressed stream as
 * `sha256:…`); the decompressor must finish cleanly too.
 */
export async function readTarFile(file: string, onEntry: OnEntry, options: TarReadOptions & { signal?: AbortSignal }): Promise<string> {
  return (await throughDecompressor(file, onEntry, options, true)) as string;
}

/**
 * Reads the file through its decompressor. On a refusal the decompressor is stopped: left running, it would
 * wait forever on a stream nobody reads. Where the stream ended by itself, the decompressor's own failure is
 * the error: it says more than "ends in the middle of an entry", and is the only one when a damaged file gave
 * no bytes at all.
 */
async function throughDecompressor(
  file: string,
  onEntry: OnEntry,
  options: TarReadOptions & { signal?: AbortSignal },
  whole: boolean,
): Promise<string | undefined> {
  const { stream, done, stop } = decompressed(file, options.what, options.signal);
  let failed: unknown;
  let stopped = false;
  // Once the reader has its answer the decompressor is stopped: what it reports after that is of no interest.
  const settled = done.catch((err: unknown) => {
    if (!stopped) failed = err;
  });
  const reader = new ChunkReader(stream, options.what, whole);
  let refused: unknown;
  let ok = true;
  try {
    await readEntries(reader, onEntry, options);
    if (whole) await reader.drain();
  } catch (err) {
    ok = false;
    refused = err;
  }
  if (reader.ended) await settled;
  const failure = ok ? (reader.ended ? failed : undefined) : (failed ?? refused);
  stopped = true;
  stop();
  await settled;
  if (failure !== undefined) throw failure;
  return whole ? `sha256:${reader.hash?.digest('hex')}` : undefined;
}
