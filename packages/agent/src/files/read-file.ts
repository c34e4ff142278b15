import { constants } from 'node:fs';
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

/** Reads a whole file, refusing files above `cap` bytes (413). */
export async function readWholeFile(file: string, cap: number, withLineNumbers: boolean): Promise<ReadResult> {
  const { handle, size } = await openRegular(file);
  try {
    if (size > cap) throw tooLarge(file, cap, 'file');
    let buf: Buffer;
    if (size > 0) {
      buf = Buffer.allocUnsafe(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await handle.read(buf, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      buf = filled < size ? buf.subarray(0, filled) : buf;
    } else {
      // Files that report size 0 (/proc, /sys) are read to their end, within the cap.
      buf = await readToEnd(handle, cap, file);
    }
    const lines = countLines(buf);
    const text = buf.toString('utf8');
    return { content: withLineNumbers ? numberLines(text, 1) : text, size, lines, totalLines: lines };
  } catch (err) {
    throw fromSystemError(err, file);
  } finally {
    await handle.close().catch(() => {});
  }
}

async function readToEnd(handle: FileHandle, cap: number, file: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
    if (bytesRead === 0) break;
    total += bytesRead;
    if (total > cap) throw tooLarge(file, cap, 'file');
    parts.push(chunk.subarray(0, bytesRead));
  }
  return Buffer.concat(parts, total);
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
