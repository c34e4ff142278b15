import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { TestAgent } from '../helpers/agent.js';
import { json, rawRequest } from './helpers.js';
import { type Seen, type TestApp, useAgentAndApp } from './test-app.js';

let t: TestAgent;
let app: TestApp;
let agentPort: number;

useAgentAndApp((agent, started) => {
  t = agent;
  app = started;
  agentPort = Number(new URL(t.url).port);
});

const auth = () => ({ authorization: `Bearer ${t.token}` });

async function refused(targetValue: string) {
  const before = app.connections;
  const res = await rawRequest(t.url, { path: '/proxy/echo', headers: { ...auth(), 'x-oblien-proxy-target': targetValue } });
  expect(app.connections).toBe(before);
  return { status: res.status, body: json(res) };
}

describe('/proxy targets', () => {
  it.each([
    ['10.0.0.1:80', 'not a loopback address'],
    ['169.254.169.254:80', 'not a loopback address'],
    ['localhost.evil.com:80', 'not a loopback address'],
    ['example.com:443', 'not a loopback address'],
    ['0.0.0.0:80', 'not a loopback address'],
    ['[::ffff:10.0.0.1]:80', 'not a loopback address'],
    ['[fe80::1]:80', 'not a loopback address'],
  ])('refuses the non-loopback target %s with 403', async (value, message) => {
    const { status, body } = await refused(value);
    expect(status).toBe(403);
    expect(body).toMatchObject({ success: false, code: 'forbidden' });
    expect(String(body.error)).toContain(message);
  });

  it('refuses 9990 and the agent\u2019s own port, whatever the host spelling', async () => {
    for (const value of ['9990', '127.0.0.1:9990', '[::1]:9990', 'localhost:9990', String(agentPort), `127.0.0.1:${agentPort}`]) {
      const { status, body } = await refused(value);
      expect({ value, status, code: body.code }).toEqual({ value, status: 403, code: 'forbidden' });
    }
  });

  it.each([
    '0',
    '65536',
    '99999999',
    '-1',
    '+80',
    '80a',
    'abc',
    ':80',
    '127.0.0.1:',
    '::1:80',
    '[::1]80',
    '[::1',
    '3000, 3001',
    '0x50',
    '',
  ])('refuses the malformed target %j with 400', async (value) => {
    const { status, body } = await refused(value);
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, code: 'bad_request' });
  });

  it('refuses a repeated target header and a missing target', async () => {
    const twice = await rawRequest(t.url, {
      path: '/proxy/echo',
      headers: { ...auth(), 'x-oblien-proxy-target': [String(app.port), String(app.port)] },
    });
    expect(twice.status).toBe(400);
    const none = await rawRequest(t.url, { path: '/proxy', headers: auth() });
    expect(none.status).toBe(400);
    expect(json(none)).toMatchObject({ code: 'bad_request', error: expect.stringContaining('no proxy target') });
    const notPort = await rawRequest(t.url, { path: '/proxy/echo/x', headers: auth() });
    expect(notPort.status).toBe(400);
  });

  it('takes the path form literally: no dot segments, no decoding', async () => {
    for (const path of [`/proxy/../${app.port}/echo`, `/proxy/%33%30/echo`, '/proxy/..%2f9990/x', '/proxy/9990/../echo']) {
      const res = await rawRequest(t.url, { path, headers: auth() });
      expect([400, 403]).toContain(res.status);
    }
    // `..` after the target goes to the app as it is: it is the app's path.
    const dots = await rawRequest(t.url, { path: `/proxy/${app.port}/echo/../x`, headers: auth() });
    expect(json<Seen>(dots).url).toBe('/echo/../x');
  });

  it('tries [::1] and any 127.x.x.x address', async () => {
    const v6 = await rawRequest(t.url, { path: '/proxy/echo', headers: { ...auth(), 'x-oblien-proxy-target': `[::1]:${app.port}` } });
    // The test app listens on 127.0.0.1 only: ::1 is a loopback target, so the agent tries it and finds nothing.
    expect(v6.status).toBe(502);
    expect(json(v6)).toMatchObject({ code: 'proxy_target_unreachable' });
    const other = await rawRequest(t.url, {
      path: '/proxy/echo',
      headers: { ...auth(), 'x-oblien-proxy-target': `127.0.0.2:${app.port}` },
    });
    // Likewise 127.0.0.2: inside 127.0.0.0/8, so tried, and refused by the kernel (the app is bound to 127.0.0.1).
    expect(other.status).toBe(502);
  });
});

describe('/proxy authentication', () => {
  it('refuses a missing or wrong token before anything reaches the app', async () => {
    const before = app.connections;
    const none = await rawRequest(t.url, { path: '/proxy/echo', headers: { 'x-oblien-proxy-target': String(app.port) } });
    expect(none.status).toBe(401);
    expect(json(none)).toEqual({ success: false, error: 'missing or invalid token', code: 'unauthorized' });
    expect(none.headers['x-request-id']).toMatch(/./);
    const wrong = await rawRequest(t.url, {
      method: 'POST',
      path: '/proxy/echo',
      headers: { authorization: 'Bearer nope', 'x-oblien-proxy-target': String(app.port), 'content-length': '5' },
      body: 'hello',
    });
    expect(wrong.status).toBe(401);
    // A token in the query authenticates upgrades only, as everywhere on the agent.
    const query = await rawRequest(t.url, { path: `/proxy/echo?token=${t.token}&x_oblien_target=${app.port}` });
    expect(query.status).toBe(401);
    expect(app.connections).toBe(before);
  });

  it('answers hostile request heads with the error body', async () => {
    const port = Number(new URL(t.url).port);
    const send = (head: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
        let out = '';
        socket.on('data', (d) => {
          out += d;
        });
        socket.on('close', () => resolve(out));
        socket.on('error', () => resolve(out));
      });
    const crlf = await send(`GET /proxy/echo HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\nAuthorization: Bearer ${t.token}\r\n\r\n`);
    expect(crlf).toMatch(/^HTTP\/1.1 400/);
    const huge = await send(`GET /proxy/echo HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1.1 431/);
    // An absolute-form target is read by its path.
    const absolute = await send(
      `GET http://evil.example/proxy/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nX-Oblien-Proxy-Target: ${app.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(absolute).toMatch(/^HTTP\/1.1 200/);
    expect(absolute).toContain('"url":"/echo"');
  });
});
