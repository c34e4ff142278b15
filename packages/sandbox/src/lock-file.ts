// Locks shared by every Cove process on the host (each instance, `cove image build`): a file created
// exclusively, naming its holder's pid, so that the lock of a process that died holding it is broken.
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { processAlive } from './process-alive.js';

/**
 * Runs `fn` holding `<dir>/<name>.lock`; two callers of one process queue on it as two processes do. Waiters
 * give up after `waitMs` (a pull may hold an image lock for minutes).
 */
export async function withLockFile<T>(dir: string, name: string, fn: () => Promise<T>, waitMs = 30 * 60_000): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = path.join(dir, `${name}.lock`);
  const deadline = Date.now() + waitMs;
  let pause = 2;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await readFile(lock, 'utf8').catch(() => ''));
      // (An empty file is one being written: its holder is alive.)
      if (holder > 0 && !processAlive(holder)) await unlink(lock).catch(() => {});
      else if (Date.now() > deadline) throw new Error(`${lock} is held by process ${holder || 'unknown'}`);
      else {
        await delay(pause);
        pause = Math.min(pause * 2, 100);
      }
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}

/**
 * Removes the lock files in `dir` whose holder died (a process killed while it held one): a waiter would break
 * them anyway, but none should be found after a restart. A file without a pid is being written: it stays.
 */
export async function sweepDeadLocks(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.lock')) continue;
    const file = path.join(dir, name);
    const holder = Number(await readFile(file, 'utf8').catch(() => ''));
    if (holder > 0 && !processAlive(holder)) await unlink(file).catch(() => {});
  }
}
