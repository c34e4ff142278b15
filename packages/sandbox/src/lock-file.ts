// Locks shared by every Cove process on the host (each instance, `cove image build`): a file created
// exclusively, naming its holder's pid, so that the lock of a process that died holding it is broken.
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
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
