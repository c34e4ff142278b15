import http from 'node:http';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { onRequestHeads, RawClient, startScriptedUpstream } from './helpers/raw-socket.js';
import { type RecordingUpstream, startRecordingUpstream } from './helpers/recording-upstream.js';
import { mintToken } from './helpers/tokens.js';

// HTTP/1.1 as the gateway speaks it on raw sockets: what callers may send, and what agents may answer.

let up: RecordingUpstream;
let gw: TestGateway;
let token: string;
let echo: RecordingUpstream['respond'];

beforeAll(async () => {
  up = await startRecordingUpstream();
  echo = up.respond;
  gw = await startTestGateway({ routeCacheMs: 0 });
  token = await route('ws_wire', up.port);
});

afterAll(async () => {
  await gw.close();
  await up.close();
});

/** Routes a workspace to a local port and returns a token for it. */
async function route(workspaceId: string, port: number, target: TestGateway = gw): Promise<string> {
  target.routes.set({
    workspaceId,
    ip: '127.0.0.1',
    port,
    rawToken: 'r'.repeat(32),
    generation: 1,
    enabled: true,
    publicAccess: true,
    running: true,
  });
  return mintToken({ wid: workspaceId, ip: '127.0.0.1', port, gen: 1 });
}

const get = (path: string, bearer = token, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${bearer}\r\n${extra}\r\n`;

/** The body of the last response in `text` (Content-Length framed). */
function lastBody(text: string): string {
  return text.slice(text.lastIndexOf('\r\n\r\n') + 4);
}

describe('requests from callers', () => {
  it('answers pipelined requests in order on one connection', async () => {
    const client = await RawClient.connect(gw.url);
    client.send(get('/one') + get('/two') + get('/three'));
    const text = await client.until((t) => (t.match(/HTTP\/1\.1 200/g) ?? []).length === 3);
    const order = [...text.matchAll(/"url":"(\/\w+)"/g)].map((m) => m[1]);
    expect(order).toEqual(['/one', '/two', '/three']);
    client.close();
  });

  it('relays a head of more than 32 headers whole', async () => {
    const extra = Array.from({ length: 40 }, (_, i) => `X-Many-${i}: v${i}\r\n`).join('');
    const client = await RawClient.connect(gw.url);
    client.send(get('/many', token, extra));
    const body = JSON.parse(lastBody(await client.until((t) => t.endsWith('}')))) as { headers: Record<string, string> };
    expect(body.headers['x-many-0']).toBe('v0');
    expect(body.headers['x-many-39']).toBe('v39');
    expect(body.headers.authorization).toBe(`Bearer ${'r'.repeat(32)}`);
    client.close();
  });

  it('relays an absolute-form request target as its path, and refuses other forms', async () => {
    const client = await RawClient.connect(gw.url);
    client.send(`GET http://elsewhere.example:81/files?path=a HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    const text = await client.until((t) => t.endsWith('}'));
    expect(JSON.parse(lastBody(text))).toMatchObject({ url: '/files?path=a', headers: { host: `127.0.0.1:${up.port}` } });
    client.send(`OPTIONS * HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    await client.until((t) => t.includes('bad_request'));
    expect(client.statuses).toEqual([200, 400]);
    client.close();
  });

  it('refuses Content-Length together with Transfer-Encoding (400): nothing reaches the agent', async () => {
    const before = up.requests.length;
    const client = await RawClient.connect(gw.url);
    client.send(
      `POST /smuggle HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hidden HTTP/1.1\r\n\r\n`,
    );
    const text = await client.untilClosed();
    expect(client.statuses).toEqual([400]);
    expect(JSON.parse(lastBody(text))).toMatchObject({ success: false, code: 'bad_request' });
    expect(up.requests.length).toBe(before);
  });

  it('refuses a malformed request line and an invalid header value with 400', async () => {
    for (const bad of ['GET /a b c HTTP/1.1\r\n\r\n', `GET / HTTP/1.1\r\nAuthorization: Bearer ${token}\r\nX-Bad: a\x01b\r\n\r\n`]) {
      const client = await RawClient.connect(gw.url);
      client.send(bad);
      await client.untilClosed();
      expect(client.statuses).toEqual([400]);
    }
  });

  it('answers 431 to an oversized request head', async () => {
    const client = await RawClient.connect(gw.url);
    client.send(get('/big', token, `X-Huge: ${'h'.repeat(20_000)}\r\n`));
    const text = await client.untilClosed();
    expect(client.statuses).toEqual([431]);
    expect(JSON.parse(lastBody(text))).toMatchObject({ code: 'headers_too_large' });
  });

  it('sends 100 Continue when it relays the body, and a refusal without one', async () => {
    const client = await RawClient.connect(gw.url);
    client.send(`POST /upload HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
    await client.until((t) => t.includes('100 Continue'));
    client.send('hello');
    const text = await client.until((t) => t.endsWith('}'));
    expect(client.statuses).toEqual([100, 200]);
    expect(JSON.parse(lastBody(text))).toMatchObject({ body: 'hello', url: '/upload' });
    client.close();

    const refused = await RawClient.connect(gw.url);
    refused.send('POST /upload HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer nope\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await refused.untilClosed();
    expect(refused.statuses).toEqual([401]);
  });

  it('answers HEAD with the headers only and keeps the connection', async () => {
    const client = await RawClient.connect(gw.url);
    client.send(`HEAD /h HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    await client.until((t) => t.endsWith('\r\n\r\n'));
    expect(client.text).toMatch(/content-length: \d+/i);
    client.send(get('/after-head'));
    const text = await client.until((t) => t.endsWith('}'));
    expect(client.statuses).toEqual([200, 200]);
    expect(lastBody(text)).toContain('/after-head');
    client.close();
  });

  it('still answers a caller that ends its side right after the request', async () => {
    const client = await RawClient.connect(gw.url);
    client.socket.end(get('/half-closed'));
    const text = await client.untilClosed();
    expect(client.statuses).toEqual([200]);
    expect(lastBody(text)).toContain('/half-closed');
  });

  it('ends a chunked upload exactly once, so the kept-alive agent connection serves the next request', async () => {
    // The agent reads slowly: the gateway's writes to it fill up while the body streams.
    const received: number[] = [];
    const errors: string[] = [];
    const slow = http.createServer((req, res) => {
      let size = 0;
      req.pause();
      setTimeout(() => req.resume(), 100);
      req.on('data', (c: Buffer) => {
        size += c.length;
      });
      req.on('end', () => {
        received.push(size);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(size).length });
        res.end(String(size));
      });
    });
    slow.on('clientError', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
    const sockets = new Set<net.Socket>();
    slow.on('connection', (s: net.Socket) => sockets.add(s));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const slowToken = await route('ws_slow', (slow.address() as net.AddressInfo).port);
    try {
      const client = await RawClient.connect(gw.url);
      client.send(`PUT /up HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${slowToken}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const piece = Buffer.alloc(256 * 1024, 7);
      for (let i = 0; i < 32; i++)
        client.send(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
      client.send('0\r\n\r\n');
      await client.until((t) => t.includes(`\r\n\r\n${32 * piece.length}`), 30_000);
      client.send(get('/next', slowToken));
      await client.until((t) => t.endsWith('\r\n\r\n0'), 10_000);
      expect(client.statuses).toEqual([200, 200]);
      expect(received).toEqual([32 * piece.length, 0]);
      expect(errors).toEqual([]);
      expect(sockets.size).toBe(1);
      client.close();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});

describe('answers from agents', () => {
  it('relays a body that runs until the agent closes, chunked to an HTTP/1.1 caller', async () => {
    const agent = await startScriptedUpstream((socket) =>
      onRequestHeads(socket, () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\npart one, ');
        setTimeout(() => socket.end('part two'), 20);
      }),
    );
    const t = await route('ws_close_delimited', agent.port);
    try {
      const client = await RawClient.connect(gw.url);
      client.send(get('/', t));
      const text = await client.until((x) => x.endsWith('0\r\n\r\n'));
      expect(text).toMatch(/transfer-encoding: chunked/i);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      expect(
        body
          .replace(/\r\n[0-9a-f]+\r\n/g, '')
          .replace(/^[0-9a-f]+\r\n/, '')
          .replace(/\r\n$/, ''),
      ).toBe('part one, part two');
      client.close();
    } finally {
      await agent.close();
    }
  });

  it('relays it close-delimited to an HTTP/1.0 caller, and closes', async () => {
    const agent = await startScriptedUpstream((socket) =>
      onRequestHeads(socket, () => {
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
        setTimeout(() => socket.write('6\r\n world\r\n0\r\n\r\n'), 20);
      }),
    );
    const t = await route('ws_http10', agent.port);
    try {
      const client = await RawClient.connect(gw.url);
      client.send(`GET / HTTP/1.0\r\nAuthorization: Bearer ${t}\r\n\r\n`);
      const text = await client.untilClosed();
      expect(text).not.toMatch(/transfer-encoding/i);
      expect(text).toMatch(/connection: close/i);
      expect(lastBody(text)).toBe('hello world');
    } finally {
      await agent.close();
    }
  });

  it("passes over an agent's interim 1xx answers and relays the final one", async () => {
    const agent = await startScriptedUpstream((socket) =>
      onRequestHeads(socket, () => socket.write('HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')),
    );
    const t = await route('ws_interim', agent.port);
    try {
      const client = await RawClient.connect(gw.url);
      client.send(get('/', t));
      await client.until((x) => x.endsWith('ok'));
      expect(client.statuses).toEqual([200]);
      client.close();
    } finally {
      await agent.close();
    }
  });

  it('answers 502 to an agent that answers garbage', async () => {
    const agent = await startScriptedUpstream((socket) => onRequestHeads(socket, () => socket.write('SPDY/9 what\r\n\r\n')));
    const t = await route('ws_garbage', agent.port);
    try {
      const client = await RawClient.connect(gw.url);
      client.send(get('/', t));
      const text = await client.until((x) => x.endsWith('}'));
      expect(client.statuses).toEqual([502]);
      expect(JSON.parse(lastBody(text))).toMatchObject({ code: 'bad_gateway', error: 'the workspace agent sent an invalid answer' });
      client.close();
    } finally {
      await agent.close();
    }
  });

  it('sends a bodiless request again on a new connection when the agent dropped a kept-alive one', async () => {
    // Each connection answers one request with keep-alive, then drops the connection when the next one arrives:
    // the race between reusing an idle connection and the agent closing it.
    const agent = await startScriptedUpstream((socket) => {
      let served = 0;
      onRequestHeads(socket, () => {
        if (served++ > 0) {
          socket.destroy();
          return;
        }
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=60\r\n\r\nok');
      });
    });
    const t = await route('ws_dropped', agent.port);
    try {
      const client = await RawClient.connect(gw.url);
      client.send(get('/first', t));
      await client.until((x) => x.endsWith('ok'));
      client.send(get('/second', t));
      await client.until((x) => (x.match(/ok/g) ?? []).length === 2);
      expect(client.statuses).toEqual([200, 200]);
      expect(agent.connections()).toBe(2);

      // A request with a body cannot be sent twice: the caller is told to retry.
      client.send(`POST /third HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${t}\r\nContent-Length: 2\r\n\r\nhi`);
      await client.until((x) => x.includes('agent_unavailable'));
      expect(client.statuses).toEqual([200, 200, 503]);
      client.close();
    } finally {
      await agent.close();
    }
  });
});

describe('caller timeouts', () => {
  let timed: TestGateway;
  let timedToken: string;

  beforeAll(async () => {
    timed = await startTestGateway({ routeCacheMs: 0, callerTimeouts: { headersMs: 300, keepAliveMs: 400 } });
    timedToken = await route('ws_timed', up.port, timed);
  });

  afterAll(() => timed.close());

  it('answers 408 to a request head trickling in too slowly', async () => {
    const client = await RawClient.connect(timed.url);
    client.send('GET / HTTP/1.1\r\n');
    await sleep(200);
    client.send('X-Slow: 1\r\n');
    await sleep(200);
    client.send('X-Slow: 2\r\n');
    await client.untilClosed();
    expect(client.statuses).toEqual([408]);
  });

  it('closes a connection idle for longer than the keep-alive time, but never one with a request in flight', async () => {
    const client = await RawClient.connect(timed.url);
    client.send(get('/idle', timedToken));
    await client.until((t) => t.endsWith('}'));
    await client.untilClosed(3_000);

    up.respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '4' });
      setTimeout(() => res.end('late'), 800);
    };
    try {
      const slow = await RawClient.connect(timed.url);
      slow.send(get('/slow', timedToken));
      await slow.until((t) => t.endsWith('late'), 3_000);
      slow.close();
    } finally {
      up.respond = echo;
    }
  });
});
