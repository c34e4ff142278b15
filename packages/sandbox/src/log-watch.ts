import { type FSWatcher, watch } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { type AgentLifecycleEvent, parseAgentEvents } from '@cove/protocol';

/** The current size of a log file (0 when it does not exist): where to start looking for new lines. */
export async function logOffset(file: string): Promise<number> {
  return (await stat(file).catch(() => undefined))?.size ?? 0;
}

/**
 * Reads what is appended to `file` after `offset` as it comes, in whole lines: `match` gets each batch of
 * complete lines and ends the wait with what it returns. Undefined when `alive()` turns false or the time runs
 * out. The file is opened once (it is only appended to while a wait lasts) and read when inotify says it
 * changed, polled every 20 ms besides; before it exists, or where it cannot be watched, it is polled every 2 ms
 * at first, then every 20 ms. (Opening it anew every 2 ms was a tenth of the driver's CPU while a pool filled.)
 */
async function followLines<R>(
  file: string,
  offset: number,
  timeoutMs: number,
  alive: () => boolean,
  match: (lines: string) => R | undefined,
): Promise<R | undefined> {
  const deadline = Date.now() + timeoutMs;
  let position = offset;
  let partial = '';
  // A character split between two reads is decoded whole.
  const decoder = new StringDecoder('utf8');
  let handle: FileHandle | undefined;
  let watcher: FSWatcher | undefined;
  let changed = false;
  let wake: (() => void) | undefined;
  try {
    for (let i = 0; ; i++) {
      handle ??= await open(file, 'r').catch(() => undefined);
      if (handle && !watcher) {
        try {
          watcher = watch(file, { persistent: false }, () => {
            changed = true;
            wake?.();
          });
          watcher.on('error', () => {});
        } catch {
          // Not watchable here: polled.
        }
      }
      if (handle) {
        changed = false;
        const { size } = await handle.stat();
        if (size > position) {
          const buf = Buffer.alloc(size - position);
          const { bytesRead } = await handle.read(buf, 0, buf.length, position);
          position += bytesRead;
          // A line still being written waits for its newline.
          const text = partial + decoder.write(buf.subarray(0, bytesRead));
          const end = text.lastIndexOf('\n') + 1;
          partial = text.slice(end);
          const found = end > 0 ? match(text.slice(0, end)) : undefined;
          if (found !== undefined) return found;
        }
      }
      if (!alive() || Date.now() > deadline) return undefined;
      if (changed) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, watcher ? 20 : i < 200 ? 2 : 20);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    watcher?.close();
    await handle?.close();
  }
}

/**
 * Waits until a lifecycle message of one of `types` (`@cove/protocol`'s
 * agent lifecycle) is appended to `file` after `offset`; resolves to it, or
 * to undefined when `alive()` turns false or the time runs out. The agent's
 * log (its stdout and stderr) is how the host learns that it is ready or
 * took a token, without a connection the firewall may refuse; its log
 * records and any other line are skipped.
 */
export function waitForAgentEvent<T extends AgentLifecycleEvent['type']>(
  file: string,
  offset: number,
  types: readonly T[],
  timeoutMs: number,
  alive: () => boolean,
): Promise<Extract<AgentLifecycleEvent, { type: T }> | undefined> {
  return followLines(file, offset, timeoutMs, alive, (lines) => {
    const found = parseAgentEvents(lines).events.find((e) => (types as readonly string[]).includes(e.type));
    return found as Extract<AgentLifecycleEvent, { type: T }> | undefined;
  });
}

/**
 * Waits until a line equal to `line` (trimmed) is appended to `file` after `offset`: a message outside the
 * lifecycle protocol (an armed agent's, see agents.ts). True when seen, false when `alive()` turns false or the
 * time runs out.
 */
export async function waitForLogLine(
  file: string,
  offset: number,
  line: string,
  timeoutMs: number,
  alive: () => boolean,
): Promise<boolean> {
  const seen = await followLines(file, offset, timeoutMs, alive, (lines) =>
    lines.split('\n').some((l) => l.trim() === line) ? true : undefined,
  );
  return seen === true;
}
