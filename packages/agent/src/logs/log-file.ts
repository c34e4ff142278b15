// Reading the end of a log file, following one as it grows, and keeping one bounded. Shared by the command log
// and the workloads' logs.
import { copyFile, open, rename, rm, stat, truncate } from 'node:fs/promises';

export interface TailResult {
  lines: string[];
  /** The file's size when read (0 when there is none). */
  size: number;
  /** Lines before the first one returned were left out. */
  truncated: boolean;
}

/**
 * The last `maxLines` lines of `file`, reading at most its last `maxBytes` (a line cut by that bound is dropped).
 * A missing file has no lines. A final line without its newline counts.
 */
export async function readTail(file: string, maxLines: number, maxBytes: number): Promise<TailResult> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], size: 0, truncated: false };
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    let text = buffer.subarray(0, bytesRead).toString('utf8');
    let cut = size > length;
    if (cut) {
      // Started mid-file: the first (partial) line is not whole.
      const nl = text.indexOf('\n');
      text = nl < 0 ? '' : text.slice(nl + 1);
    }
    const lines = splitLines(text);
    if (lines.length > maxLines) {
      lines.splice(0, lines.length - maxLines);
      cut = true;
    }
    return { lines, size, truncated: cut };
  } finally {
    await handle.close();
  }
}

/** Lines of `text`, without their newlines (a trailing newline ends the last line, it does not start one). */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/**
 * Keeps a log another process appends to (its own descriptor, opened O_APPEND) under `maxBytes`: past it, the
 * file is copied to `<file>.1` (the previous generation, replaced) and truncated, so that the writer's next
 * write lands at its start. What is written between the copy and the truncation is lost; the pair stays under
 * twice the bound plus what one check interval writes. Resolves true when it rotated.
 */
export async function copyTruncate(file: string, maxBytes: number): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile() || info.size <= maxBytes) return false;
  await copyFile(file, `${file}.1`);
  await truncate(file, 0);
  return true;
}

/** Rotates a log the caller writes itself: `<file>` becomes `<file>.1` (the previous generation goes). */
export async function renameRotate(file: string): Promise<void> {
  await rename(file, `${file}.1`).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Empties a log and drops its previous generation. */
export async function clearLog(file: string): Promise<void> {
  await truncate(file, 0).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await rm(`${file}.1`, { force: true });
}

/**
 * Follows `file` from byte `offset`: resolves complete lines as they are appended, polling every `intervalMs`.
 * A file that shrinks (truncated, rotated) is read again from its start. `next` resolves undefined once
 * `signal` aborts.
 */
export class LogFollower {
  readonly #file: string;
  readonly #intervalMs: number;
  #offset: number;
  #partial = '';

  constructor(file: string, offset: number, intervalMs = 250) {
    this.#file = file;
    this.#offset = offset;
    this.#intervalMs = intervalMs;
  }

  /** The next lines appended (at most `maxBytes` read at once), waiting until there are some. */
  async next(signal: AbortSignal, maxBytes = 64 * 1024): Promise<string[] | undefined> {
    while (!signal.aborted) {
      const lines = await this.#read(maxBytes);
      if (lines.length > 0) return lines;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.#intervalMs);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
    return undefined;
  }

  async #read(maxBytes: number): Promise<string[]> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#file, 'r');
    } catch {
      return [];
    }
    try {
      const { size } = await handle.stat();
      if (size < this.#offset) {
        this.#offset = 0;
        this.#partial = '';
      }
      if (size === this.#offset) return [];
      const length = Math.min(size - this.#offset, maxBytes);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, this.#offset);
      this.#offset += bytesRead;
      const text = this.#partial + buffer.subarray(0, bytesRead).toString('utf8');
      const nl = text.lastIndexOf('\n');
      if (nl < 0) {
        // A line longer than the read keeps growing until its newline, within bounds: past 1 MiB it goes out as is.
        if (text.length > 1024 * 1024) {
          this.#partial = '';
          return [text];
        }
        this.#partial = text;
        return [];
      }
      this.#partial = text.slice(nl + 1);
      return splitLines(text.slice(0, nl + 1));
    } finally {
      await handle.close();
    }
  }
}

/** The size of `file`, 0 when there is none. */
export async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => undefined))?.size ?? 0;
}
