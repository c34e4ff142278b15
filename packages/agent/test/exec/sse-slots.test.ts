import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameSlots, sharedFrameSlots } from '../../src/exec/frames/frame-slots.js';
import { createExecDomain } from '../../src/exec/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { openSse, SseParser, until } from './helpers/sse.js';

// SSE output frames built in the WebAssembly encoder's slots (exec/frames): a slot is reused only once
// the socket is done with its frame, so random output must arrive byte for byte even when a reader
// stalls long enough for every slot to be busy (the copying path then takes the rest).
let t: TestAgent;
beforeAll(async () => {
  // A high soft limit: a paused reader lets more frames queue than there are slots.
  t = await startTestAgent({ domains: [createExecDomain({ sseSoftLimit: 8 * 1024 * 1024, pingIntervalMs: 60_000 })] });
});
afterAll(async () => {
  await t.json('DELETE', '/exec');
  await t.close();
});

const slots = (): FrameSlots => {
  const made = sharedFrameSlots();
  if (made === undefined) throw new Error('this Node has WebAssembly SIMD: the encoder must load');
  return made;
};

/** Reads the first chunk (the task_id event), then pauses the response. */
async function openPaused(cmd: string[]): Promise<{ res: IncomingMessage; parser: SseParser; stdout: Buffer[] }> {
  const res = await openSse(t.url, t.token, 'POST', '/exec/stream', { cmd });
  const parser = new SseParser();
  const stdout: Buffer[] = [];
  res.setEncoding('latin1');
  res.on('data', (text: string) => {
    for (const ev of parser.push(text)) if (ev.event === 'stdout') stdout.push(Buffer.from(String(ev.data.data), 'base64'));
  });
  await new Promise((resolve) => res.once('data', resolve));
  res.pause();
  return { res, parser, stdout };
}

describe('SSE frames in WebAssembly slots', () => {
  it('a stalled reader makes every slot busy; output still arrives whole and in order, and the slots come back', async () => {
    const data = randomBytes(24 * 1024 * 1024);
    const file = path.join(t.workdir, 'random.bin');
    await writeFile(file, data);
    const { res, parser, stdout } = await openPaused(['cat', file]);
    // Frames the socket has not taken keep their slots; past the last one, frames are copied.
    await until(() => slots().free === 0, 'every slot to be busy');
    // Then a reader slower than cat: frames are written while older ones still wait in slots.
    const ended = new Promise((resolve) => res.once('end', resolve));
    let reads = 0;
    res.on('data', () => {
      if (++reads % 8 !== 0) return;
      res.pause();
      setTimeout(() => res.resume(), 5);
    });
    res.resume();
    await ended;
    expect(parser.events.at(-1)?.data).toMatchObject({ exit_code: 0 });
    const got = Buffer.concat(stdout);
    expect(got.length).toBe(data.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    await until(() => slots().free === FrameSlots.SLOT_COUNT, 'the slots to be free again');
  });

  it('a reader that disconnects mid-stream frees the slots of its unsent frames', async () => {
    const { res } = await openPaused(['head', '-c', String(64 * 1024 * 1024), '/dev/urandom']);
    await until(() => slots().free < FrameSlots.SLOT_COUNT - 4, 'frames to wait in slots');
    res.destroy();
    await until(() => slots().free === FrameSlots.SLOT_COUNT, 'the slots to be free again');
  });
});
