import http from 'node:http';
import { describe, expect, it } from 'vitest';
import type { TestAgent } from '../helpers/agent.js';
import { type TestApp, useAgentAndApp } from './test-app.js';

let t: TestAgent;
let app: TestApp;

useAgentAndApp((agent, started) => {
  t = agent;
  app = started;
});

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `read()` stops changing between two looks `ms` apart. */
async function settled(read: () => number, ms = 200): Promise<number> {
  let last = read();
  for (;;) {
    await sleep(ms);
    const now = read();
    if (now === last) return now;
    last = now;
  }
}

describe('/proxy backpressure', () => {
  it('a reader that stops reading stops the app\u2019s writes: the agent does not buffer the download', async () => {
    const total = 256 * MiB;
    const url = new URL(t.url);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(
        {
          host: url.hostname,
          port: url.port,
          path: `/proxy/download?mib=${total / MiB}`,
          headers: { authorization: `Bearer ${t.token}`, 'x-oblien-proxy-target': String(app.port) },
          agent: false,
        },
        resolve,
      );
      req.on('error', reject);
    });
    expect(res.statusCode).toBe(200);
    // Read nothing: the caller's socket fills, the agent stops reading the app, and the app's write() returns false.
    res.pause();
    const stalled = await settled(() => app.download.written);
    expect(app.download.blocked).toBeGreaterThan(0);
    expect(app.download.done).toBe(false);
    // What is in flight is what the sockets hold (kernel buffers on both hops), a small part of the whole.
    expect(stalled).toBeLessThan(total / 4);

    let received = 0;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    res.resume();
    await new Promise((r) => res.on('end', r));
    expect(received).toBe(total);
    expect(app.download.done).toBe(true);
  }, 120_000);

  it('a slow app is not waited for: each piece reaches the caller as it is written', async () => {
    // /sse writes three events with pauses between them; the first arrives alone (see proxy-http.test.ts too).
    const res = await fetch(`${t.url}/proxy/sse`, {
      headers: { authorization: `Bearer ${t.token}`, 'x-oblien-proxy-target': String(app.port) },
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('event: tick\ndata: {"n":1}\n\n');
    await reader.cancel();
  });
});
