// The host's short locks (id ranges, instance networks): held for milliseconds, so a waiter gives up after 10 s.
import { withLockFile } from './lock-file.js';

/** Runs `fn` holding `<dir>/.lock` (two callers of one process queue on it like two processes do). */
export function withHostLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  return withLockFile(dir, '', fn, 10_000);
}
