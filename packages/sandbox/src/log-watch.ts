import { open, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/** The current size of a log file (0 when it does not exist): where to start looking for new lines. */
export async function logOffset(file: string): Promise<number> {
  return (await stat(file).catch(() => undefined))?.size ?? 0;
}

/**
 * Waits until text appended to `file` after `offset` matches one of the
 * patterns; resolves to the index of the pattern, or -1 when `alive()`
 * turns false or the time runs out. The agent's log is how the host learns
 * that it is ready or took a token, without a connection the firewall may
 * refuse.
 */
export async function waitForLog(
  file: string,
  offset: number,
  patterns: readonly string[],
  timeoutMs: number,
  alive: () => boolean,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const handle = await open(file, 'r').catch(() => undefined);
    if (handle) {
      try {
        const { size } = await handle.stat();
        if (size > offset) {
          const buf = Buffer.alloc(size - offset);
          await handle.read(buf, 0, buf.length, offset);
          const text = buf.toString('utf8');
          const found = patterns.findIndex((p) => text.includes(p));
          if (found >= 0) return found;
        }
      } finally {
        await handle.close();
      }
    }
    if (!alive() || Date.now() > deadline) return -1;
    await delay(i < 200 ? 2 : 20);
  }
}
