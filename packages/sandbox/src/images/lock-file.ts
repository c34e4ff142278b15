// Locks shared by every process that uses one images directory (each Cove instance, `cove image build`): a
// file created exclusively, naming its holder's pid, so the lock of a process that died holding it is broken.
// Unlike the host lock (host-lock.ts), a holder may keep it for minutes (a pull), so waiters wait that long.
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { processAlive } from '../process-alive.js';

/** Runs `fn` holding `<dir>/<name>.lock`; two callers of one process queue on it as two processes do. */
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
