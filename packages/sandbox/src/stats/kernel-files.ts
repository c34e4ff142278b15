// Small kernel files (cgroup, sysfs, procfs) read synchronously into one shared buffer. They are generated from
// memory on read and never wait on a disk, so a blocking read costs a few µs, less than the thread-pool round
// trips of the promise API (open, stat, read, close): reading 50 workspaces' figures takes ~1000 of them.
import { closeSync, openSync, readSync } from 'node:fs';

const buffer = Buffer.allocUnsafe(64 * 1024);

/** The file's text, or undefined when it does not exist (a controller file this kernel lacks, a cgroup gone). */
export function readKernelFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0 || length + n === buffer.length) return buffer.toString('latin1', 0, length + n);
      length += n;
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A file holding one number; `max` (v2's "no limit") and a missing file are null. */
export function readNumber(file: string): number | null {
  const text = readKernelFile(file)?.trim();
  if (text === undefined || text === '' || text === 'max') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** A flat keyed file (`key value` per line: cpu.stat, memory.stat, memory.events, memory.oom_control). */
export function readKeyed(file: string): Map<string, number> {
  const out = new Map<string, number>();
  const text = readKernelFile(file);
  if (text === undefined) return out;
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const n = Number(line.slice(space + 1));
    if (Number.isFinite(n)) out.set(line.slice(0, space), n);
  }
  return out;
}

/** v1 writes "no limit" as the largest page-aligned 64-bit value (~9.2e18); anything past 2^60 bytes is no limit. */
export function limitOrNull(value: number | null): number | null {
  return value === null || value >= 2 ** 60 ? null : value;
}
