import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { rawRequest } from './helpers/raw-request.js';
import { type RecordingUpstream, startRecordingUpstream } from './helpers/recording-upstream.js';
import { mintToken } from './helpers/tokens.js';
import { tryUpgrade } from './helpers/upgrade.js';

// A plain node:http "agent" that records exactly what the gateway sends it.
let up: RecordingUpstream;
let gw: TestGateway;
let token: string;
const RAW = 'c'.repeat(32);
const defaultRespond = (): RecordingUpstream['respond'] => up.respond;
let echo: RecordingUpstream['respond'];

beforeAll(async () => {
  up = await startRecordingUpstream();
  echo = defaultRespond();
  gw = await startTestGateway({ routeCacheMs: 0 });
  gw.routes.set({
    workspaceId: 'ws_up',
    ip: up.ip,
    port: up.port,
    rawToken: RAW,
    generation: 1,
    enabled: true,
    publicAccess: true,
    running: true,
  });
  token = await mintToken({ wid: 'ws_up', ip: up.ip, port: up.port, gen: 1 });
});

afterEach(() => {
  up.respond = echo;
  gw.routes.update('ws_up', { ip: up.ip, port: up.port, enabled: true, running: true });
});

afterAll(async () => {
  await gw.close();
  await up.close();
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** Waits until `read()` stops growing, and returns its final value. */
async function settle(read: () => number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const now = read();
    if (now === last) return now;
    last = now;
    await sleep(300);
  }
  return read();
}

describe('header hygiene', () => {
  it('strips hop-by-hop, client forwarding and credential headers; sets its own X-Forwarded-*', async () => {
    const res = await rawRequest(`${gw.url}/files?path=/app`, {
      headers: {
        authorization: `Bearer ${token}`,
        connection: 'keep-alive, X-Hop',
        'x-hop': 'secret',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        te: 'trailers',
        upgrade: 'h2c',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        forwarded: 'for=6.6.6.6',
        'x-real-ip': '6.6.6.6',
        'x-end-to-end': 'kept',
      },
    });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/files?path=/app');
    const h = seen.headers;
    expect(h.authorization).toBe(`Bearer ${RAW}`);
    expect(h['x-end-to-end']).toBe('kept');
    for (const name of ['x-hop', 'keep-alive', 'proxy-authorization', 'te', 'upgrade', 'forwarded', 'x-real-ip']) {
      expect(h[name], name).toBeUndefined();
    }
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(new URL(gw.url).host);
    expect(h.host).toBe(`${up.ip}:${up.port}`);
  });

  it('streams a chunked request body upstream', async () => {
    const res = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${gw.url}/files/write`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (r) => {
        let body = '';
        r.on('data', (c: Buffer) => {
          body += c.toString();
        });
        r.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.write('{"path":"a",');
      req.end('"content":"b"}');
    });
    expect(JSON.parse(res).body).toBe('{"path":"a","content":"b"}');
  });

  it('relays Content-Length bodies whole, whether they arrive in one chunk or several, and keeps the connection', async () => {
    const big = 'x'.repeat(200_000);
    up.respond = (req, res) => {
      if (req.url === '/one') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end('hello');
      } else if (req.url === '/parts') {
        res.writeHead(200, { 'content-length': '15' });
        res.write('first');
        setTimeout(() => res.write('-then'), 20);
        setTimeout(() => res.end('-last'), 40);
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-length': String(big.length) });
        res.end(big);
      } else if (req.url === '/empty') {
        res.writeHead(200, { 'content-length': '0' });
        res.end();
      } else {
        res.writeHead(200, { 'content-length': '5' });
        res.end(req.method === 'HEAD' ? undefined : 'hello');
      }
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string, method = 'GET') =>
      new Promise<{ status: number; length: string | undefined; body: string; reused: boolean }>((resolve, reject) => {
        const req = http.request(`${gw.url}${path}`, { method, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'], body, reused: req.reusedSocket }),
          );
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get('/one')).toMatchObject({ status: 200, length: '5', body: 'hello' });
      expect(await get('/parts')).toMatchObject({ status: 200, length: '15', body: 'first-then-last', reused: true });
      const large = await get('/big');
      expect(large.length).toBe(String(big.length));
      expect(large.body === big).toBe(true);
      expect(await get('/empty')).toMatchObject({ status: 200, length: '0', body: '', reused: true });
      expect(await get('/head', 'HEAD')).toMatchObject({ status: 200, length: '5', body: '', reused: true });
      expect(await get('/one')).toMatchObject({ body: 'hello', reused: true });
    } finally {
      agent.destroy();
    }
  });

  it('drops Set-Cookie and hop-by-hop response headers from the workspace', async () => {
    up.respond = (_req, res) => {
      res.writeHead(200, [
        ['content-type', 'text/plain'],
        ['set-cookie', 'session=stolen; Path=/'],
        ['connection', 'X-Secret'],
        ['x-secret', 'internal'],
        ['keep-alive', 'timeout=99'],
        ['proxy-authenticate', 'Basic'],
        ['x-visible', 'yes'],
      ] as unknown as http.OutgoingHttpHeaders);
      res.end('body');
    };
    const res = await rawRequest(`${gw.url}/x`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('body');
    expect(res.headers['x-visible']).toBe('yes');
    for (const name of ['set-cookie', 'x-secret', 'proxy-authenticate']) expect(res.headers[name], name).toBeUndefined();
    expect(res.headers['keep-alive']).not.toBe('timeout=99');
  });

  it('forwards a WebSocket upgrade without the caller token (query, subprotocol) or Origin, with the raw token', async () => {
    const before = up.requests.length;
    const res = await tryUpgrade(`${gw.url}/ws?token=${token}&x=1`, {
      origin: new URL(gw.url).origin,
      'sec-websocket-protocol': `bearer, bearer.${token}, chat`,
    });
    // The recording upstream refuses every upgrade with 418: the gateway relays that answer.
    expect(res.status).toBe(418);
    expect(up.requests.length).toBe(before + 1);
    const seen = up.requests.at(-1);
    expect(seen?.upgrade).toBe(true);
    expect(seen?.url).toBe('/ws?x=1');
    expect(seen?.headers.authorization).toBe(`Bearer ${RAW}`);
    expect(seen?.headers.origin).toBeUndefined();
    expect(seen?.headers['sec-websocket-protocol']).toBe('bearer, chat');
    expect(seen?.headers.upgrade).toBe('websocket');
    expect(JSON.stringify(seen?.rawHeaders)).not.toContain(token);
  });
});

describe('upstream failures', () => {
  it('answers 503 agent_unavailable when nothing accepts connections at the agent (HTTP and WebSocket)', async () => {
    gw.routes.update('ws_up', { port: await closedPort() });
    const route = gw.routes.routes.get('ws_up');
    if (!route) throw new Error('no route');
    const t = await mintToken({ wid: 'ws_up', ip: route.ip, port: route.port, gen: 1 });
    const res = await rawRequest(`${gw.url}/files`, { headers: { authorization: `Bearer ${t}` } });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({
      success: false,
      error: expect.stringContaining('not running (ECONNREFUSED)'),
      code: 'agent_unavailable',
    });
    const ws = await tryUpgrade(`${gw.url}/ws?token=${t}`);
    expect(ws.status).toBe(503);
    expect(JSON.parse(ws.body)).toMatchObject({ success: false, code: 'agent_unavailable' });
  });

  it('answers 503 service_unavailable when the workspace is stopped or its server disabled', async () => {
    const before = up.requests.length;
    gw.routes.update('ws_up', { running: false });
    const stopped = await rawRequest(`${gw.url}/files`, { headers: { authorization: `Bearer ${token}` } });
    expect(stopped.status).toBe(503);
    expect(JSON.parse(stopped.body)).toEqual({ success: false, error: expect.any(String), code: 'service_unavailable' });
    gw.routes.update('ws_up', { running: true, enabled: false });
    const disabled = await rawRequest(`${gw.url}/files`, { headers: { authorization: `Bearer ${token}` } });
    expect(disabled.status).toBe(503);
    expect(JSON.parse(disabled.body)).toMatchObject({ success: false, code: 'service_unavailable' });
    expect(up.requests.length).toBe(before);
  });

  it('answers 504 gateway_timeout when the agent sends no headers in time, but never cuts a slow stream', async () => {
    const slow = await startTestGateway({ routes: gw.routes, upstreamTimeouts: { headersMs: 200 }, routeCacheMs: 0 });
    try {
      up.respond = () => {
        // never answers
      };
      const stuck = await rawRequest(`${slow.url}/exec`, { headers: { authorization: `Bearer ${token}` } });
      expect(stuck.status).toBe(504);
      expect(JSON.parse(stuck.body)).toEqual({ success: false, error: expect.any(String), code: 'gateway_timeout' });

      up.respond = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': first\n\n');
        // Silent for longer than the headers timeout, then more data: the stream must survive.
        setTimeout(() => res.end('event: exit\ndata: {}\n\n'), 700);
      };
      const stream = await rawRequest(`${slow.url}/exec/stream`, { headers: { authorization: `Bearer ${token}` } });
      expect(stream.status).toBe(200);
      expect(stream.body).toBe(': first\n\nevent: exit\ndata: {}\n\n');
    } finally {
      await slow.close();
    }
  });
});

describe('backpressure', () => {
  const LIMIT = 48 * 1024 * 1024;

  it('stops reading a download from the agent while the caller does not read', { timeout: 60_000 }, async () => {
    let written = 0;
    up.respond = (_req, res) => {
      const chunk = Buffer.alloc(256 * 1024, 7);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => {
        while (written < 1024 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => res.off('drain', pump));
      pump();
    };
    const req = http.request(`${gw.url}/files/download?path=x`, { headers: { authorization: `Bearer ${token}` }, agent: false });
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    response.pause();
    const stalled = await settle(() => written);
    // Only socket buffers and stream high-water marks are in flight: nowhere near the 1 GiB offered.
    expect(stalled).toBeLessThan(LIMIT);
    response.destroy();
  });

  it('stops reading an upload from the caller while the agent does not read', { timeout: 60_000 }, async () => {
    up.respond = (req) => {
      req.pause(); // never reads the body
    };
    let sent = 0;
    const req = http.request(`${gw.url}/files/upload?path=x`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      agent: false,
    });
    req.on('error', () => {});
    const chunk = Buffer.alloc(256 * 1024, 9);
    const pump = () => {
      while (sent < 1024 * 1024 * 1024) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
    };
    pump();
    const stalled = await settle(() => sent);
    expect(stalled).toBeLessThan(LIMIT);
    req.destroy();
  });
});
