// Following an agent's log for its lifecycle messages: lines appended after the offset, whole lines only, a
// file that appears after the wait began, and the end of the wait when the process is gone.
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { logOffset, waitForAgentEvent, waitForLogLine } from '../src/log-watch.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function logFile(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-log-watch-'));
  dirs.push(dir);
  return path.join(dir, 'agent.log');
}

describe('log watch', () => {
  it('finds a lifecycle message appended after the offset, written in pieces, skipping other lines', async () => {
    const file = await logFile();
    await writeFile(file, '{"type":"ready","url":"http://old","listen":"0.0.0.0:1","port":1,"workdir":"/","pid":1,"version":"0"}\n');
    const offset = await logOffset(file);
    const waiting = waitForAgentEvent(file, offset, ['ready'], 10_000, () => true);
    await delay(30);
    await appendFile(file, '{"level":30,"msg":"a log record"}\n{"type":"ready","url":"http://new",');
    await delay(30);
    await appendFile(file, '"listen":"0.0.0.0:2","port":2,"workdir":"/","pid":2,"version":"0"}\n');
    expect(await waiting).toMatchObject({ type: 'ready', url: 'http://new', port: 2 });
  });

  it('waits for a file that does not exist yet, and stops when the process is gone', async () => {
    const file = await logFile();
    const seen = waitForLogLine(file, 0, '{"type":"armed"}', 10_000, () => true);
    await delay(30);
    await writeFile(file, '{"type":"armed"}\n');
    expect(await seen).toBe(true);

    let alive = true;
    const gone = waitForLogLine(file, await logOffset(file), '{"type":"armed"}', 10_000, () => alive);
    await delay(30);
    alive = false;
    expect(await gone).toBe(false);
  });
});
