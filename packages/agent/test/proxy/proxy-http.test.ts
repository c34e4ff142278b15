import http from 'node:http';
import { describe, expect, it } from 'vitest';
import type { TestAgent } from '../helpers/agent.js';
import { json, rawRequest } from './helpers.js';
import { type Seen, type TestApp, useAgentAndApp } from './test-app.js';

let t: TestAgent;
let app: TestApp;

useAgentAndApp((agent, started) => {
  t = agent;
  app = started;
});

const auth = () => ({ authorization: `Bearer ${t.token}` });
const target = () => ({ 'x-oblien-proxy-target': String(app.port) });

describe('/proxy over HTTP', () => {
  it('passes method, path, query, headers and body unchanged, and strips the credentials and the target', async () => {
    const res = await rawRequest(t.url, {
      method: 'PUT',
      path: '/proxy/echo/a%20b/c?x=1&token=secret&y=%2F&x=2&x_oblien_target=999&z',
      headers: { ...auth(), ...target(), 'X-Custom-Case': 'Value', 'content-type': 'text/plain', 'x-request-id': 'caller-id-1' },
      body: 'hello body',
    });
    expect(res.status).toBe(200);
    const seen = json<Seen>(res);
    expect(seen.method).toBe('PUT');
    expect(seen.url).toBe('/echo/a%20b/c?x=1&y=%2F&x=2&z');
    expect(seen.body).toBe('hello body');
    expect(seen.rawHeaders).toContain('X-Custom-Case');
    expect(seen.headers['x-custom-case']).toBe('Value');
    expect(seen.headers['content-type']).toBe('text/plain');
    expect(seen.headers.host).toBe(new URL(t.url).host);
    expect(seen.headers['x-request-id']).toBe('caller-id-1');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-oblien-proxy-target']).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(t.token);
    expect(JSON.stringify(seen)).not.toContain('secret');
    // The agent's request id, not the app's; the app's other headers pass.
    expect(res.headers['x-request-id']).toBe('caller-id-1');
    expect(res.headers['x-app-header']).toBe('kept');
  });

  it('accepts the query form and the path form of the target', async () => {
    const q = await rawRequest(t.url, { path: `/proxy/echo?x_oblien_target=${app.port}&k=v`, headers: auth() });
    expect(json<Seen>(q).url).toBe('/echo?k=v');
    const p = await rawRequest(t.url, { path: `/proxy/${app.port}/echo/deep?k=v`, headers: auth() });
    expect(json<Seen>(p).url).toBe('/echo/deep?k=v');
    const root = await rawRequest(t.url, { path: `/proxy/${app.port}`, headers: auth() });
    expect(json<Seen>(root).url).toBe('/');
    const host = await rawRequest(t.url, { path: '/proxy', headers: { ...auth(), 'x-oblien-proxy-target': `127.0.0.1:${app.port}` } });
    expect(json<Seen>(host).url).toBe('/');
    const local = await rawRequest(t.url, {
      path: '/proxy/echo',
      headers: { ...auth(), 'x-oblien-proxy-target': `localhost:${app.port}` },
    });
    expect(json<Seen>(local).url).toBe('/echo');
    // The official SDK's forTarget('default') prefix.
    const prefixed = await rawRequest(t.url, { path: '/runtimes/default/proxy/echo', headers: { ...auth(), ...target() } });
    expect(json<Seen>(prefixed).url).toBe('/echo');
  });

  it('passes statuses and repeated response headers as the app sent them', async () => {
    const res = await rawRequest(t.url, { path: '/proxy/status/418', headers: { ...auth(), ...target() } });
    expect(res.status).toBe(418);
    expect(res.body.toString()).toBe('status 418');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['x-app']).toBe('yes');
    const head = await rawRequest(t.url, { method: 'HEAD', path: '/proxy/status/204', headers: { ...auth(), ...target() } });
    expect(head.status).toBe(204);
  });

  it('streams a chunked upload and passes its trailers', async () => {
    const piece = Buffer.alloc(100_000, 'u');
    const url = new URL(t.url);
    const answer = await new Promise<{ bytes: number; te: string; trailers: Record<string, string> }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/proxy/upload',
          headers: { ...auth(), ...target(), trailer: 'x-sum' },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write(piece);
      req.addTrailers({ 'x-sum': 'ok' });
      req.end();
    });
    expect(answer).toEqual({ bytes: 2_000_000, te: 'chunked', trailers: { 'x-sum': 'ok' } });
  });

  it('keeps a chunked body framed whatever the method (DELETE and GET bodies are not sent unframed)', async () => {
    for (const method of ['DELETE', 'GET', 'OPTIONS']) {
      const res = await rawRequest(t.url, {
        method,
        path: '/proxy/echo',
        headers: { ...auth(), ...target(), 'transfer-encoding': 'chunked' },
        body: ['part one, ', 'part two'],
      });
      const seen = json<Seen>(res);
      expect({ method: seen.method, body: seen.body, te: seen.headers['transfer-encoding'] }).toEqual({
        method,
        body: 'part one, part two',
        te: 'chunked',
      });
    }
  });

  it('streams SSE as it comes, and passes response trailers', async () => {
    const res = await fetch(`${t.url}/proxy/sse`, { headers: { ...auth(), ...target() } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    // The first event arrives before the app wrote the others: nothing waits for the whole body.
    expect(new TextDecoder().decode(first.value)).toBe('event: tick\ndata: {"n":1}\n\n');
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe('event: tick\ndata: {"n":2}\n\nevent: tick\ndata: {"n":3}\n\n');

    const trailers = await rawRequest(t.url, { path: '/proxy/trailers', headers: { ...auth(), ...target(), te: 'trailers' } });
    expect(trailers.body.toString()).toBe('body');
    expect(trailers.trailers).toEqual({ 'x-checksum': 'abc123' });
  });

  it('delivers a large download whole', async () => {
    const res = await rawRequest(t.url, { path: '/proxy/download?mib=16', headers: { ...auth(), ...target() } });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(16 * 1024 * 1024));
    expect(res.body.length).toBe(16 * 1024 * 1024);
  });

  it('keeps connections alive on both sides, and honours the app closing its own', async () => {
    const before = app.connections;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 5; i++) {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const url = new URL(t.url);
        const req = http.get(
          { host: url.hostname, port: url.port, path: '/proxy/echo', headers: { ...auth(), ...target() }, agent },
          resolve,
        );
        req.on('error', reject);
      });
      sockets.add(res.socket);
      res.resume();
      await new Promise((r) => res.on('end', r));
    }
    expect(sockets.size).toBe(1);
    // The agent pools its connections to the app: at most one new one for five requests.
    expect(app.connections - before).toBeLessThanOrEqual(1);

    const closing = await rawRequest(t.url, { path: '/proxy/close', headers: { ...auth(), ...target() } });
    expect(closing.body.toString()).toBe('bye');
    // The next request finds the pooled connection gone and opens a new one.
    const after = await rawRequest(t.url, { path: '/proxy/echo', headers: { ...auth(), ...target() } });
    expect(after.status).toBe(200);
    agent.destroy();
  });

  it('answers 502 proxy_target_unreachable when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const res = await rawRequest(t.url, {
      path: '/proxy/x',
      headers: { ...auth(), 'x-oblien-proxy-target': String(port), 'x-request-id': 'r-502' },
    });
    expect(res.status).toBe(502);
    expect(json(res)).toEqual({ success: false, error: `nothing answers on ${port} (ECONNREFUSED)`, code: 'proxy_target_unreachable' });
    expect(res.headers['x-request-id']).toBe('r-502');
  });

  it('leaves other routes to the JSON app', async () => {
    const res = await t.json('GET', '/proxyfoo');
    expect(res.status).toBe(404);
    expect((await t.json('GET', '/health')).body).toEqual({ status: 'ok' });
  });
});
