import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { TestAgent } from '../helpers/agent.js';
import { type Seen, type TestApp, useAgentAndApp } from './test-app.js';

// One listener, two servers: `/proxy` requests on the wire, the rest (and, once a connection has served one of
// those, everything after it on that connection) on node:http. Each connection is checked as raw bytes.

let t: TestAgent;
let app: TestApp;

useAgentAndApp((agent, started) => {
  t = agent;
  app = started;
});

/** One raw connection to the agent. */
async function connect(): Promise<{ send(text: string): void; until(n: number): Promise<string[]>; close(): void }> {
  const socket = net.connect(Number(new URL(t.url).port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (c: string) => {
    text += c;
  });
  return {
    send: (bytes) => socket.write(bytes),
    /** The first `n` answers, each head and body. */
    async until(n) {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const answers = split(text);
        if (answers.length >= n) return answers.slice(0, n);
        if (Date.now() > deadline) throw new Error(`timed out; received: ${text}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    close: () => socket.destroy(),
  };
}

/** Complete answers in `text` (Content-Length framed or chunked), each as its head and de-chunked body. */
function split(text: string): string[] {
  const out: string[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return out;
    const head = rest.slice(0, end + 4);
    let at = end + 4;
    let content = '';
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const line = rest.indexOf('\r\n', at);
        if (line < 0) return out;
        const size = Number.parseInt(rest.slice(at, line), 16);
        if (rest.length < line + 2 + size + 2) return out;
        content += rest.slice(line + 2, line + 2 + size);
        at = line + 2 + size + 2;
        if (size === 0) break;
      }
    } else {
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (rest.length < at + length) return out;
      content = rest.slice(at, at + length);
      at += length;
    }
    out.push(head + content);
    rest = rest.slice(at);
  }
}

const body = (answer: string) => answer.slice(answer.indexOf('\r\n\r\n') + 4);
const header = (answer: string, name: string) =>
  new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'i').exec(answer.slice(0, answer.indexOf('\r\n\r\n')))?.[1];

describe('/proxy and the JSON app on one connection', () => {
  const proxied = (path: string, extra = '') =>
    `GET /proxy${path} HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer ${t.token}\r\nX-Oblien-Proxy-Target: ${app.port}\r\n${extra}\r\n`;
  const health = 'GET /health HTTP/1.1\r\nHost: agent\r\n\r\n';

  it('answers pipelined /proxy and JSON requests in order, the request after the switch included', async () => {
    const c = await connect();
    const upload = 'x'.repeat(5000);
    c.send(
      proxied('/echo/one') +
        `POST /proxy/echo/two HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer ${t.token}\r\nX-Oblien-Proxy-Target: ${app.port}\r\n` +
        `Content-Type: text/plain\r\nContent-Length: ${upload.length}\r\nX-Request-Id: two-id\r\n\r\n${upload}` +
        health +
        proxied('/echo/three'),
    );
    const [one, two, three, four] = await c.until(4);
    expect((JSON.parse(body(one as string)) as Seen).url).toBe('/echo/one');
    const seenTwo = JSON.parse(body(two as string)) as Seen;
    // A Content-Length body goes with exactly one Content-Length.
    expect(seenTwo).toMatchObject({ method: 'POST', url: '/echo/two', body: upload });
    expect(seenTwo.rawHeaders.filter((h) => h.toLowerCase() === 'content-length')).toHaveLength(1);
    expect(header(two as string, 'x-request-id')).toBe('two-id');
    expect(JSON.parse(body(three as string))).toEqual({ status: 'ok' });
    // Once the JSON app has the connection, /proxy is relayed from node:http: the same answer.
    const seenFour = JSON.parse(body(four as string)) as Seen;
    expect(seenFour.url).toBe('/echo/three');
    expect(seenFour.headers.authorization).toBeUndefined();
    expect(seenFour.headers['x-oblien-proxy-target']).toBeUndefined();
    expect(header(four as string, 'x-request-id')).toBe(seenFour.headers['x-request-id']);
    c.close();
  });

  it('relays /proxy on a connection that began with a JSON request, errors included', async () => {
    const c = await connect();
    c.send(health);
    await c.until(1);
    c.send(proxied('/echo/later', 'X-Request-Id: later-id\r\n'));
    c.send(`GET /proxy/echo HTTP/1.1\r\nHost: agent\r\nX-Oblien-Proxy-Target: ${app.port}\r\n\r\n`);
    const [, later, refused] = await c.until(3);
    expect((JSON.parse(body(later as string)) as Seen).url).toBe('/echo/later');
    expect(header(later as string, 'x-request-id')).toBe('later-id');
    expect(later?.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(refused?.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(JSON.parse(body(refused as string))).toMatchObject({ success: false, code: 'unauthorized' });
    c.close();
  });

  it("checks a kept-alive caller's token again once the agent's token changes", async () => {
    const c = await connect();
    c.send(proxied('/echo/before'));
    const [before] = await c.until(1);
    expect(before?.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    const next = randomBytes(16).toString('hex');
    t.agent.tokens.set(next);
    try {
      // The same Authorization value on the same connection: accepted before, refused now.
      c.send(proxied('/echo/after'));
      c.send(
        `GET /proxy/echo/renewed HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer ${next}\r\nX-Oblien-Proxy-Target: ${app.port}\r\n\r\n`,
      );
      const [, after, renewed] = await c.until(3);
      expect(after?.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
      expect(renewed?.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
      expect((JSON.parse(body(renewed as string)) as Seen).url).toBe('/echo/renewed');
    } finally {
      t.agent.tokens.set(t.token);
      c.close();
    }
  });

  it('answers refusals on the wire with the error body and the request id, and keeps serving', async () => {
    const c = await connect();
    c.send(
      `GET /proxy/echo HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer wrong\r\nX-Oblien-Proxy-Target: ${app.port}\r\nX-Request-Id: r-1\r\n\r\n`,
    );
    c.send(proxied('', 'X-Oblien-Proxy-Target: 1\r\n'));
    c.send(`GET /proxy/9990/x HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer ${t.token}\r\n\r\n`);
    const [bad, twice, internal] = await c.until(3);
    expect(bad?.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(header(bad as string, 'x-request-id')).toBe('r-1');
    expect(JSON.parse(body(twice as string))).toMatchObject({ code: 'bad_request' });
    expect(JSON.parse(body(internal as string))).toMatchObject({ code: 'forbidden' });
    c.close();
  });

  it('counts a request relayed on the wire as use of the workspace (GET /activity)', async () => {
    const activity = async () =>
      (await fetch(`${t.url}/activity`, { headers: { authorization: `Bearer ${t.token}` } })).json() as Promise<{
        idle_ms: number;
        requests_in_flight: number;
      }>;
    const c = await connect();
    // A stream held open on a connection that never served a JSON request: only the wire sees it.
    c.send(proxied('/sse'));
    const deadline = Date.now() + 5_000;
    let seen = await activity();
    while (seen.requests_in_flight === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await activity();
    }
    expect(seen).toMatchObject({ requests_in_flight: 1, idle_ms: 0 });
    c.close();
    while (seen.requests_in_flight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await activity();
    }
    expect(seen.requests_in_flight).toBe(0);
  });

  it('tells a tracker of each request it serves on the wire, answered or cut', async () => {
    let begun = 0;
    let ended = 0;
    t.agent.proxy.trackUse({ begin: () => begun++, end: () => ended++ });
    const c = await connect();
    c.send(proxied('/echo/a') + proxied('/echo/b'));
    await c.until(2);
    expect({ begun, ended }).toEqual({ begun: 2, ended: 2 });
    // A stream the caller leaves in the middle ends too.
    c.send(proxied('/sse'));
    const deadline = Date.now() + 5_000;
    while (begun < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(ended).toBe(2);
    c.close();
    while (ended < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect({ begun, ended }).toEqual({ begun: 3, ended: 3 });
  });
});
