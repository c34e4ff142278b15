import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { AppError } from '@cove/protocol';

/** Bits of `struct inotify_event.mask` (linux/inotify.h); a stable kernel ABI. */
export const IN = {
  MODIFY: 0x2,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  UNMOUNT: 0x2000,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
  ONLYDIR: 0x0100_0000,
  DONT_FOLLOW: 0x0200_0000,
  EXCL_UNLINK: 0x0400_0000,
  ISDIR: 0x4000_0000,
} as const;

/** One `struct inotify_event`. */
export interface RawEvent {
  wd: number;
  mask: number;
  cookie: number;
  /** The entry's name inside the watched directory; empty for events about the directory itself. */
  name: string;
}

/** The native handle (packages/inotify). */
export interface InotifyHandle {
  addWatch(path: string, mask: number): number;
  rmWatch(wd: number): boolean;
  close(): void;
}

interface Binding {
  Inotify: new (onData: (events: Buffer) => void) => InotifyHandle;
}

let binding: Binding | Error | undefined;

function load(): Binding {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url)('@cove/inotify') as Binding;
    } catch (err) {
      binding = err instanceof Error ? err : new Error(String(err));
    }
  }
  if (binding instanceof Error) {
    throw new AppError('watcher_failed', `failed to create file watcher: the inotify addon is not available (${binding.message})`);
  }
  return binding;
}

const littleEndian = os.endianness() === 'LE';

/** Splits the records one read returned; the kernel only ever returns whole records. */
export function parseEvents(buf: Buffer): RawEvent[] {
  const events: RawEvent[] = [];
  let at = 0;
  while (at + 16 <= buf.length) {
    const wd = littleEndian ? buf.readInt32LE(at) : buf.readInt32BE(at);
    const mask = littleEndian ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4);
    const cookie = littleEndian ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
    const len = littleEndian ? buf.readUInt32LE(at + 12) : buf.readUInt32BE(at + 12);
    const start = at + 16;
    const end = Math.min(start + len, buf.length);
    // The name is NUL-padded to an alignment boundary.
    const nul = buf.indexOf(0, start);
    const name = len === 0 ? '' : buf.toString('utf8', start, nul === -1 || nul > end ? end : nul);
    events.push({ wd, mask, cookie, name });
    at = start + len;
  }
  return events;
}

/** Opens an inotify instance whose events arrive, parsed, in `onEvents`. */
export function openInotify(onEvents: (events: RawEvent[]) => void): InotifyHandle {
  const { Inotify } = load();
  try {
    return new Inotify((buf) => onEvents(parseEvents(buf)));
  } catch (err) {
    throw describeInotifyError(err, 'inotify_init1');
  }
}

/** Reads a sysctl of the inotify family, for error messages. */
function sysctl(name: string): string {
  try {
    return readFileSync(`/proc/sys/fs/inotify/${name}`, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Whether an error from the addon says the kernel's watch limit is reached. */
export function isWatchLimit(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC';
}

/** The message naming the sysctl a user raises when watches run out. */
export function watchLimitMessage(): string {
  return `inotify watch limit reached (fs.inotify.max_user_watches = ${sysctl('max_user_watches')}); raise it or exclude more directories`;
}

/** Maps the addon's system errors to the API's errors. */
export function describeInotifyError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC') return new AppError('watcher_failed', `failed to create file watcher: ${watchLimitMessage()}`);
  if (code === 'EMFILE') {
    return new AppError(
      'watcher_failed',
      `failed to create file watcher: inotify instance limit reached (fs.inotify.max_user_instances = ${sysctl('max_user_instances')})`,
    );
  }
  if (code === 'ENOMEM') return new AppError('watcher_failed', `failed to create file watcher: out of kernel memory (${what})`);
  return err;
}
