import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameSlots, sharedFrameSlots } from '../../src/exec/frames/frame-slots.js';
import { createExecDomain } from '../../src/exec/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { openSse, SseParser, until } from './helpers/sse.js';

// The WebAssembly frame slots are shared by every SSE stream of the agent: a slot handed to one stream
// while another's socket still holds its frame would show up as wrong bytes in the first. Real
// concurrent streams of distinct random data, read fast, slowly, or dropped mid-way (by the client, or
// by the agent's stall timer while frames wait on the socket), must each arrive byte for byte.
let t: TestAgent;
/** A second agent in this process (the slots are the process's): its stall timer cuts paused readers fast. */
let cutter: TestAgent;
const FILES = 12;
const SIZE = 3 * 1024 * 1024;
const files: { file: string; sha: string }[] = [];

beforeAll(async () => {
  t = await startTestAgent({ domains: [createExecDomain({ sseSoftLimit: 2 * 1024 * 1024, pingIntervalMs: 60_000 })] });
  // A short stall timeout: stalled readers get their sockets destroyed by the agent with frames still
  // queued on them, while the other agent's streams take the slots.
  cutter = await startTestAgent({
    domains: [createExecDomain({ sseSoftLimit: 2 * 1024 * 1024, stallTimeoutMs: 100, pingIntervalMs: 60_000 })],
  });
  for (let i = 0; i < FILES; i++) {
    const data = randomBytes(SIZE);
    const file = path.join(t.workdir, `random-${i}.bin`);
    await writeFile(file, data);
    files.push({ file, sha: createHash('sha256').update(data).digest('hex') });
  }
});
afterAll(async () => {
  await t.json('DELETE', '/exec');
  await cutter.json('DELETE', '/exec');
  await t.close();
  await cutter.close();
});

const slots = (): FrameSlots => {
  const made = sharedFrameSlots();
  if (made === undefined) throw new Error('this Node has WebAssembly SIMD: the encoder must load');
  return made;
};

type Kind = 'fast' | 'slow' | 'dropped' | 'stalled';

/** Follows `cat file`; resolves with the sha256 of the stdout it got, 'gone' when the stream was cut, or 'corrupt: …'. */
async function follow(file: string, kind: Kind): Promise<string> {
  const agent = kind === 'stalled' ? cutter : t;
  // A stalled reader's task prints more than the kernel's socket buffers hold, so that its frames wait
  // in slots (up to the soft limit) when the agent cuts it.
  const cmd = kind === 'stalled' ? ['head', '-c', String(24 * 1024 * 1024), '/dev/urandom'] : ['cat', file];
  const res: IncomingMessage = await openSse(agent.url, agent.token, 'POST', '/exec/stream', { cmd });
  const parser = new SseParser();
  const hash = createHash('sha256');
  let bytes = 0;
  let reads = 0;
  res.setEncoding('latin1');
  return new Promise<string>((resolve) => {
    res.on('data', (text: string) => {
      try {
        for (const ev of parser.push(text)) {
          if (ev.event !== 'stdout') continue;
          const chunk = Buffer.from(String(ev.data.data), 'base64');
          hash.update(chunk);
          bytes += chunk.length;
        }
      } catch (err) {
        // A frame overwritten while on its way no longer parses.
        res.destroy();
        resolve(`corrupt: ${(err as Error).message.slice(0, 80)}`);
        return;
      }
      reads++;
      if (kind === 'slow' && reads % 4 === 0) {
        res.pause();
        setTimeout(() => res.resume(), 3);
      } else if (kind === 'dropped' && bytes > SIZE / 3) {
        res.destroy();
        resolve('gone');
      } else if (kind === 'stalled') {
        // Paused for good: the agent destroys its socket after 100 ms of stall, frames still queued on
        // it. The paused client would not notice; it lets go a while later.
        res.pause();
        setTimeout(() => res.destroy(), 1000);
        resolve('gone');
      }
    });
    res.on('end', () => {
      const exit = parser.events.at(-1);
      resolve(exit?.event === 'exit' && bytes === SIZE ? hash.digest('hex') : 'gone');
    });
    res.on('close', () => resolve('gone'));
    res.on('error', () => resolve('gone'));
  });
}

describe('SSE frame slots shared by concurrent streams', () => {
  it('fast, slow, dropped and stalled readers at once: every stream read to its end has every byte', async () => {
    const kinds: Kind[] = ['fast', 'slow', 'dropped', 'stalled'];
    for (let round = 0; round < 2; round++) {
      const runs = files.map(({ file, sha }, i) => {
        const kind = kinds[(i + round) % kinds.length] as Kind;
        return follow(file, kind).then((got) => ({ kind, got, sha }));
      });
      for (const { kind, got, sha } of await Promise.all(runs)) {
        expect(got).not.toMatch(/^corrupt/);
        if (kind === 'fast' || kind === 'slow') expect(got).toBe(sha);
      }
    }
    await until(() => slots().free === FrameSlots.SLOT_COUNT, 'the slots to be free again');
  }, 60_000);

  it('a pipelined request waiting behind a stream, then dropped: its slots come back and its task is let go', async () => {
    await t.json('DELETE', '/exec'); // the tasks of the test before
    // Two requests on one connection: the first's task prints nothing and runs on, so the second's
    // response waits behind it with every frame it made buffered in the response, not on the socket;
    // every busy slot is the second's. The client then goes away.
    const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const request = (cmd: string[]) => {
      const body = JSON.stringify({ cmd });
      return `POST /exec/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    socket.write(request(['sleep', '30']) + request(['cat', (files[0] as { file: string }).file]));
    await until(() => slots().free <= FrameSlots.SLOT_COUNT - 2, 'the second response to hold frames in slots');
    socket.destroy();
    await until(() => slots().free === FrameSlots.SLOT_COUNT, 'the slots to be free again');
    // The second task is no longer held by its stream: it runs to its end.
    await until(async () => {
      const { body } = await t.json<{ tasks: { command: string[]; status: string }[] }>('GET', '/exec');
      return body.tasks.some((task) => task.command[0] === 'cat' && task.status === 'exited');
    }, 'the cat task to end');
    await t.json('DELETE', '/exec');
  }, 30_000);
});
