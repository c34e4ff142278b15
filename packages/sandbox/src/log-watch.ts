import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as delay } from 'node:timers/promises';
import { type AgentLifecycleEvent, parseAgentEvents } from '@cove/protocol';

/** The current size of a log file (0 when it does not exist): where to start looking for new lines. */
export async function logOffset(file: string): Promise<number> {
  return (await stat(file).catch(() => undefined))?.size ?? 0;
}

/**
 * Waits until a lifecycle message of one of `types` (`@cove/protocol`'s
 * agent lifecycle) is appended to `file` after `offset`; resolves to it, or
 * to undefined when `alive()` turns false or the time runs out. The agent's
 * log (its stdout and stderr) is how the host learns that it is ready or
 * took a token, without a connection the firewall may refuse; its log
 * records and any other line are skipped.
 */
export async function waitForAgentEvent<T extends AgentLifecycleEvent['type']>(
  file: string,
  offset: number,
  types: readonly T[],
  timeoutMs: number,
  alive: () => boolean,
): Promise<Extract<AgentLifecycleEvent, { type: T }> | undefined> {
  const deadline = Date.now() + timeoutMs;
  // Complete lines are parsed once; a line still being written waits for its newline.
  let position = offset;
  let partial = '';
  // A character split between two reads is decoded whole.
  const decoder = new StringDecoder('utf8');
  for (let i = 0; ; i++) {
    const handle = await open(file, 'r').catch(() => undefined);
    if (handle) {
      try {
        const { size } = await handle.stat();
        if (size > position) {
          const buf = Buffer.alloc(size - position);
          const { bytesRead } = await handle.read(buf, 0, buf.length, position);
          position += bytesRead;
          const { events, rest } = parseAgentEvents(partial + decoder.write(buf.subarray(0, bytesRead)));
          partial = rest;
          const found = events.find((e) => (types as readonly string[]).includes(e.type));
          if (found) return found as Extract<AgentLifecycleEvent, { type: T }>;
        }
      } finally {
        await handle.close();
      }
    }
    if (!alive() || Date.now() > deadline) return undefined;
    await delay(i < 200 ? 2 : 20);
  }
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
  const deadline = Date.now() + timeoutMs;
  let position = offset;
  let partial = '';
  for (let i = 0; ; i++) {
    const handle = await open(file, 'r').catch(() => undefined);
    if (handle) {
      try {
        const { size } = await handle.stat();
        if (size > position) {
          const buf = Buffer.alloc(size - position);
          const { bytesRead } = await handle.read(buf, 0, buf.length, position);
          position += bytesRead;
          const lines = (partial + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          if (lines.some((l) => l.trim() === line)) return true;
        }
      } finally {
        await handle.close();
      }
    }
    if (!alive() || Date.now() > deadline) return false;
    await delay(i < 200 ? 2 : 20);
  }
}
