import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { type Agent, createAgent, createLogger } from '@cove/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTerminalsDomain } from '../../src/terminals/index.js';

const token = randomBytes(16).toString('hex');
let agent: Agent;
let url: string;

beforeAll(async () => {
  agent = await createAgent({
    token: { kind: 'env', value: token },
    workdir: '/tmp',
    logger: createLogger('silent'),
    ws: { highWaterBytes: 256 * 1024, maxBufferedBytes: 4 * 1024 * 1024, stallTimeoutMs: 1000 },
    domains: [createTerminalsDomain({ killGraceMs: 200 })],
  });
  url = await agent.listen('127.0.0.1', 0);
});
afterAll(async () => {
  await agent.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A WebSocket client that only counts what it receives (keeps nothing). */
async function countingClient(): Promise<{ ws: WebSocket; bytes: () => number; first: Promise<Buffer> }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${token}`);
  let bytes = 0;
  let resolveFirst: (b: Buffer) => void = () => {};
  const first = new Promise<Buffer>((r) => {
    resolveFirst = r;
  });
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    if (bytes === 0) resolveFirst(data);
    bytes += data.length;
  });
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  return { ws, bytes: () => bytes, first };
}

/** A raw TCP client that completes the upgrade and then never reads a byte. */
async function stalledClient(): Promise<net.Socket> {
  const port = Number(new URL(url).port);
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(
    `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  // No 'data' listener: the socket never flows, so the kernel buffers fill and then the server's.
  return socket;
}

describe('/ws flow control', () => {
  it('disconnects a client that stops reading, keeps memory bounded, and serves the others', async () => {
    const created = await fetch(`${url}/terminals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['sh', '-c', 'yes "$(head -c 200 /dev/zero | tr "\\0" z)"'] }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };

    const good = await countingClient();
    const stalled = await stalledClient();
    await sleep(50);
    expect(agent.hub.size).toBe(2);
    const rssBefore = process.memoryUsage().rss;
    let rssMax = rssBefore;

    // The stalled client is cut once it has been backed up for the stall timeout.
    while (agent.hub.size > 1) {
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      await sleep(20);
    }
    // Output flows on for the client that reads.
    const before = good.bytes();
    while (good.bytes() < before + 4 * 1024 * 1024) {
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      await sleep(20);
    }
    expect(rssMax - rssBefore).toBeLessThan(200 * 1024 * 1024);
    expect(good.bytes()).toBeGreaterThan(8 * 1024 * 1024);
    stalled.destroy();

    // A client that reconnects gets the terminal's scrollback first (at most the 64 KiB ring).
    const again = await countingClient();
    const replay = await again.first;
    expect(replay[0]).toBe(Number(id));
    expect(replay.length).toBeLessThanOrEqual(64 * 1024 + 1);
    expect(replay.subarray(1).toString()).toMatch(/^z*\r\n(z{200}\r\n)+/);

    for (const c of [good, again]) c.ws.close();
    await fetch(`${url}/terminals/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  });

  it('pauses a flooding terminal while the only client is backed up (output waits in the kernel)', async () => {
    // Numbered lines, so two samples of the scrollback are equal only if nothing was read in between.
    const created = await fetch(`${url}/terminals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['seq', '1', '999999999'] }),
    });
    const { id } = (await created.json()) as { id: string };
    const sample = async () => {
      const res = await fetch(`${url}/terminals/${id}/scrollback?bytes=4096`, { headers: { authorization: `Bearer ${token}` } });
      return ((await res.json()) as { scrollback: string }).scrollback;
    };
    /** The numbers on the sample's whole lines (its first and last line may be cut); the scrollback is base64. */
    const numbers = (scrollback: string) => Buffer.from(scrollback, 'base64').toString('latin1').split('\r\n').slice(1, -1).map(Number);
    let drains = 0;
    agent.hub.onDrain(() => {
      drains++;
    });
    const stalled = await stalledClient();
    await expect.poll(() => agent.hub.size).toBe(1);
    // While the kernel's buffers still take frames the client may drain and congest again; a window
    // counts when it lies inside one congestion: congested at both ends, no drain in between.
    const windows: Array<{ a: string; b: string }> = [];
    while (agent.hub.size > 0 && windows.length < 3) {
      if (!agent.hub.congested) {
        await sleep(10);
        continue;
      }
      const drainsBefore = drains;
      const a = await sample();
      await sleep(100);
      const b = await sample();
      if (agent.hub.congested && drains === drainsBefore) windows.push({ a, b });
    }
    expect(windows.length).toBeGreaterThan(0);
    for (const { a, b } of windows) {
      // Nothing was read from the PTY while congested: the scrollback did not move.
      expect(b).toBe(a);
      const held = numbers(a);
      expect(held.length).toBeGreaterThan(100);
      expect(held).toEqual(held.map((_, i) => held[0]! + i)); // in order, none lost
    }
    // Then the stall timeout cuts the client and reading resumes where it stopped.
    while (agent.hub.size > 0) await sleep(20);
    expect(agent.hub.congested).toBe(false);
    const last = numbers(windows.at(-1)!.a).at(-1)!;
    await expect.poll(async () => numbers(await sample())[0], { timeout: 10_000 }).toBeGreaterThan(last);
    const resumed = numbers(await sample());
    expect(resumed).toEqual(resumed.map((_, i) => resumed[0]! + i));
    stalled.destroy();
    await fetch(`${url}/terminals/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  });
});
