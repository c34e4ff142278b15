import fs, { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { AppError } from '@cove/protocol';
import { fromSystemError } from '../http/errno.js';

const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;

export interface ReadResult {
  content: string;
  /** The file's size in bytes. */
  size: number;
  /** Lines returned. */
  lines: number;
  /** Last line number of the file (known when the read went to the end). */
  totalLines?: number;
}

export interface LineRange {
  start: number;
  end: number;
}

/**
 * Opens a file for reading and checks it is a regular file. O_NONBLOCK keeps
 * a FIFO from blocking the open; such files are refused anyway.
 */
async function openRegular(file: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fromSystemError(err, file);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new AppError('bad_request', `path is a directory: ${file}`);
    if (!info.isFile()) throw new AppError('bad_request', `not a regular file: ${file}`);
    return { handle, size: info.size };
  } catch (err) {
    await handle.close().catch(() => {});
    throw fromSystemError(err, file);
  }
}

function tooLarge(file: string, cap: number, what: string): AppError {
  return new AppError(
    'payload_too_large',
    `${what} ${file} is larger than ${cap} bytes: read a line range (start_line/end_line) or use GET /files/download`,
  );
}

/** Counts lines the way editors do: a final line without a newline still counts. */
export function countLines(buf: Uint8Array): number {
  let count = 0;
  let at = buf.indexOf(NEWLINE);
  while (at !== -1) {
    count++;
    at = buf.indexOf(NEWLINE, at + 1);
  }
  if (buf.length > 0 && buf[buf.length - 1] !== NEWLINE) count++;
  return count;
}

/** Prefixes each line with its number and a tab, keeping the lines' own terminators. */
export function numberLines(text: string, first: number): string {
  if (text.length === 0) return text;
  const lines = text.split('\n');
  // A trailing newline ends the last line; it does not start another.
  const last = lines.at(-1) === '' ? lines.length - 1 : lines.length;
  let out = '';
  for (let i = 0; i < last; i++) {
    out += `${first + i}\t${lines[i]}`;
    if (i < lines.length - 1) out += '\n';
  }
  return out;
}

/** How much a whole-file read asks for at once when the size is unknown (files that report size 0: /proc, /sys). */
const FIRST_READ = 32 * 1024;
/**
 * Regular files up to this size are read on the main thread. Each trip to the
 * thread pool costs the main thread more than the system call it carries
 * (queueing, the wake-up, a promise): a 1 KiB read took four trips (open,
 * fstat, read, close) and spent most of its CPU dispatching them. A small read
 * from the page cache is a few microseconds; on the local file systems of a
 * workspace an uncached one is a disk read of at most this much.
 */
const SYNC_READ_MAX = 64 * 1024;
/** Reused by every synchronous read: its bytes are decoded before anything else can run. */
const scratch = Buffer.allocUnsafeSlow(SYNC_READ_MAX + 1);

const readFd = (fd: number, buf: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));

/**
 * Reads a whole file, refusing files above `cap` bytes (413) and anything
 * but a regular file (400). This is the hot path of the API: the open and
 * fstat are synchronous (metadata, O_NONBLOCK so a FIFO cannot block the
 * open; such files are refused), and so is the read of a file up to
 * SYNC_READ_MAX bytes, into a reused buffer. Larger files, and files whose
 * size is unknown, are read through the thread pool.
 */
export async function readWholeFile(file: string, cap: number, withLineNumbers: boolean): Promise<ReadResult> {
  let fd: number;
  try {
    fd = fs.openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fromSystemError(err, file);
  }
  let closeLater = false;
  try {
    const info = fs.fstatSync(fd);
    if (info.isDirectory()) throw new AppError('bad_request', `path is a directory: ${file}`);
    if (!info.isFile()) throw new AppError('bad_request', `not a regular file: ${file}`);
    if (info.size > cap) throw tooLarge(file, cap, 'file');
    if (info.size > 0 && info.size <= SYNC_READ_MAX) {
      // One byte more than the size tells a file that grew since the fstat: it then takes the general road.
      let n = 0;
      for (;;) {
        const got = fs.readSync(fd, scratch, n, scratch.length - n, n);
        if (got === 0) break;
        n += got;
        if (n === scratch.length) break;
      }
      if (n <= SYNC_READ_MAX && n <= cap) return decoded(scratch.subarray(0, n), info.size, withLineNumbers);
    }
    closeLater = true;
    return await readToEnd(fd, file, info.size, cap, withLineNumbers);
  } catch (err) {
    throw fromSystemError(err, file);
  } finally {
    if (closeLater) fs.close(fd, () => {});
    else fs.closeSync(fd);
  }
}

function decoded(buf: Buffer, size: number, withLineNumbers: boolean): ReadResult {
  const lines = countLines(buf);
  const text = buf.toString('utf8');
  return { content: withLineNumbers ? numberLines(text, 1) : text, size, lines, totalLines: lines };
}

/** The general road: reads through the thread pool to the end of the file, within the cap. */
async function readToEnd(fd: number, file: string, size: number, cap: number, withLineNumbers: boolean): Promise<ReadResult> {
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.max(FIRST_READ, Math.min(size - total, cap + 1 - total)));
    const n = await readFd(fd, chunk, 0, chunk.length, total);
    if (n === 0) break;
    total += n;
    if (total > cap) throw tooLarge(file, cap, 'file');
    parts.push(n < chunk.length ? chunk.subarray(0, n) : chunk);
  }
  return decoded(Buffer.concat(parts, total), size, withLineNumbers);
}

/**
 * Reads lines `start..end` (1-based, inclusive) by scanning the file in
 * chunks and stopping after `end`: a range near the start of a huge file
 * costs only what precedes it, and memory holds only the selected lines
 * (at most `cap` bytes, else 413). Lines keep their own terminators.
 */
export async function readLineRange(file: string, range: LineRange, cap: number, withLineNumbers: boolean): Promise<ReadResult> {
  const { handle, size } = await openRegular(file);
  try {
    const parts: Buffer[] = [];
    let collected = 0;
    let line = 1;
    let returned = 0;
    let lastCounted = 0;
    let lastByte = -1;
    let reachedEnd = false;
    const buf = Buffer.allocUnsafe(CHUNK);
    outer: for (;;) {
      const { bytesRead } = await handle.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) {
        reachedEnd = true;
        break;
      }
      lastByte = buf[bytesRead - 1] ?? -1;
      const chunk = buf.subarray(0, bytesRead);
      let pos = 0;
      while (pos < bytesRead) {
        const nl = chunk.indexOf(NEWLINE, pos);
        const stop = nl === -1 ? bytesRead : nl + 1;
        if (line >= range.start) {
          collected += stop - pos;
          if (collected > cap) throw tooLarge(file, cap, 'requested lines of');
          // Copied: the read buffer is reused for the next chunk.
          parts.push(Buffer.from(chunk.subarray(pos, stop)));
          if (lastCounted !== line) {
            lastCounted = line;
            returned++;
          }
        }
        pos = stop;
        if (nl !== -1) {
          line++;
          if (line > range.end) break outer;
        }
      }
    }
    const text = Buffer.concat(parts, collected).toString('utf8');
    const result: ReadResult = { content: withLineNumbers ? numberLines(text, range.start) : text, size, lines: returned };
    if (reachedEnd) result.totalLines = lastByte === NEWLINE || lastByte === -1 ? line - 1 : line;
    return result;
  } catch (err) {
    throw fromSystemError(err, file);
  } finally {
    await handle.close().catch(() => {});
  }
}
