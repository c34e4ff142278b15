import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { StaticRouteSource } from '@cove/gateway';
import type { WorkspaceRoute } from '@cove/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startTestAgent, type TestAgent } from '../../agent/test/helpers/agent.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { rawRequest } from './helpers/raw-request.js';
import { RawClient } from './helpers/raw-socket.js';

// Exposed ports served by host name: a real agent's /proxy in front of a real app on a loopback port.

const TOKEN = 'port-token-0123456789abcdef';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  upgrade: boolean;
}

/** A plain Node app: echoes requests as JSON, streams SSE on /events, echoes WebSocket messages. */
async function startApp(): Promise<{ port: number; seen: Seen[]; releaseEvents: () => void; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  let release: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, upgrade: false });
      if (req.url === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('event: first\ndata: 1\n\n');
        // The second event waits for the test: the first one must arrive while the stream is still open.
        release = () => res.end('event: second\ndata: 2\n\n');
        return;
      }
      const answer = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(req.method === 'POST' ? 201 : 200, {
        'content-type': 'application/json',
        'x-app': 'yes',
        'set-cookie': ['session=abc; Domain=localhost; Path=/; HttpOnly', 'theme=dark'],
      });
      res.end(answer);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '', upgrade: true });
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data: Buffer, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    releaseEvents: () => release?.(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        for (const s of sockets) s.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

let agent: TestAgent;
let app: Awaited<ReturnType<typeof startApp>>;
let gw: TestGateway;
let gwPort: number;

beforeAll(async () => {
  agent = await startTestAgent();
  app = await startApp();
  gw = await startTestGateway();
  gwPort = Number(new URL(gw.url).port);
  const agentPort = Number(new URL(agent.url).port);
  const route = { ip: '127.0.0.1', port: agentPort, rawToken: agent.token, generation: 1, enabled: true, running: true };
  // public_access is false: exposing a port is the consent, the data plane's setting does not apply.
  gw.routes.set({ workspaceId: 'ws_pub', publicAccess: false, ...route });
  gw.routes.set({ workspaceId: 'ws_paused', publicAccess: true, ...route, running: false, paused: true });
  gw.routes.set({ workspaceId: 'ws_stopped', publicAccess: true, ...route, running: false });
});

beforeEach(() => {
  gw.routes.setPort({ workspaceId: 'ws_pub', slug: 'myapp', port: app.port, auth: 'public', tokenSha256: null, generation: 1 });
  gw.routes.setPort({
    workspaceId: 'ws_pub',
    slug: 'secret-app',
    port: app.port,
    auth: 'token',
    tokenSha256: sha256(TOKEN),
    generation: 1,
  });
  gw.routes.setPort({ workspaceId: 'ws_paused', slug: 'sleepy', port: app.port, auth: 'public', tokenSha256: null, generation: 1 });
  gw.routes.setPort({ workspaceId: 'ws_stopped', slug: 'gone-app', port: app.port, auth: 'public', tokenSha256: null, generation: 1 });
});

afterAll(async () => {
  await gw.close();
  await app.close();
  await agent.close();
});

const host = (slug: string) => `${slug}.localhost:${gwPort}`;

/** A request to the gateway under a host name (node:http sends the Host given; the name need not resolve). */
function call(slug: string, pathAndQuery: string, options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {}) {
  return rawRequest(gw.url + pathAndQuery, { ...options, headers: { host: host(slug), ...options.headers } });
}

/** What the app saw last. */
const lastSeen = (): Seen => app.seen[app.seen.length - 1] as Seen;

/** Everything of ours the app must never see, in any header or URL it received. */
function expectNothingOfOurs(seen: Seen): void {
  expect(seen.headers.authorization).toBeUndefined();
  expect(seen.headers['x-oblien-proxy-target']).toBeUndefined();
  const all = JSON.stringify(seen);
  expect(all).not.toContain(TOKEN);
  expect(all).not.toContain(agent.token);
  expect(all).not.toContain('cove_port_token');
}

/** A WebSocket to the gateway under a host name. */
function openWs(slug: string, pathAndQuery: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}${pathAndQuery}`, { headers: { host: host(slug), ...headers } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

function closed(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve();
    else ws.once('close', () => resolve());
  });
}

describe('a public port', () => {
  it('relays method, path, query, body, status and headers; the app sees nothing of ours', async () => {
    const res = await call('myapp', '/api/items?a=1&b=x%20y&x_oblien_target=9990', {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        'x-custom': 'kept',
        authorization: 'Bearer caller-credential',
        'x-oblien-proxy-target': '9990',
        cookie: 'pref=1',
      },
      body: 'hello app',
    });
    expect(res.status).toBe(201);
    expect(res.headers['x-app']).toBe('yes');
    expect(res.headers['x-request-id']).toBeTruthy();
    // The app's cookies pass on its own host, without a Domain that would reach the other slugs.
    expect(res.headers['set-cookie']).toEqual(['session=abc; Path=/; HttpOnly', 'theme=dark']);
    const seen = JSON.parse(res.body) as Seen;
    expect(seen).toMatchObject({ method: 'POST', url: '/api/items?a=1&b=x%20y', body: 'hello app' });
    expect(seen.headers).toMatchObject({
      'x-custom': 'kept',
      cookie: 'pref=1',
      host: host('myapp'),
      'x-forwarded-host': host('myapp'),
      'x-request-id': res.headers['x-request-id'],
    });
    expectNothingOfOurs(lastSeen());
    expect(lastSeen().headers.authorization).toBeUndefined();
  });

  it('answers 100-continue and relays a chunked body, as the data plane does', async () => {
    const client = await RawClient.connect(gw.url);
    client.send(`POST /upload HTTP/1.1\r\nHost: ${host('myapp')}\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n`);
    await client.until((t) => t.includes('100 Continue'));
    client.send('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    await client.until((t) => t.includes('"body":"hello world"'));
    expect(client.statuses).toEqual([100, 201]);
    expect(lastSeen()).toMatchObject({ method: 'POST', url: '/upload', body: 'hello world' });
    expect(lastSeen().headers.expect).toBeUndefined();
    client.close();
  });

  it('streams SSE: the first event arrives while the stream is open', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${gw.url}/events`, { headers: { host: host('myapp'), accept: 'text/event-stream' } }, (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('text/event-stream');
        let got = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          got += chunk;
          if (got.includes('data: 1') && !got.includes('data: 2')) app.releaseEvents();
        });
        res.on('end', () => resolve(got));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    expect(text).toBe('event: first\ndata: 1\n\nevent: second\ndata: 2\n\n');
  });

  it('relays a WebSocket both ways, binary frames intact', async () => {
    const ws = await openWs('myapp', '/socket?room=1');
    const frame = Buffer.from([0, 1, 2, 127, 128, 255]);
    const echoed = new Promise<{ data: Buffer; binary: boolean }>((resolve) =>
      ws.once('message', (data: Buffer, binary) => resolve({ data, binary })),
    );
    ws.send(frame);
    expect(await echoed).toEqual({ data: frame, binary: true });
    const seen = lastSeen();
    expect(seen).toMatchObject({ upgrade: true, url: '/socket?room=1' });
    expectNothingOfOurs(seen);
    ws.close();
    await closed(ws);
  });

  it('does not redirect for a token in the query, nor pass it on', async () => {
    const res = await call('myapp', '/p?token=abc&q=1');
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).not.toContainEqual(expect.stringMatching(/cove_port_token/));
    expect(JSON.parse(res.body)).toMatchObject({ url: '/p?q=1' });
  });

  it('needs no gateway JWT and ignores public_access; /health and OPTIONS are the app’s', async () => {
    const health = await call('myapp', '/health');
    expect(JSON.parse(health.body)).toMatchObject({ url: '/health' });
    const preflight = await call('myapp', '/x', {
      method: 'OPTIONS',
      headers: { origin: 'http://a.example', 'access-control-request-method': 'PUT' },
    });
    expect(JSON.parse(preflight.body)).toMatchObject({ method: 'OPTIONS', url: '/x' });
  });
});

describe('a token port', () => {
  it('takes the token from the query once: cookie set, redirect without it, the app never sees it', async () => {
    const before = app.seen.length;
    const res = await call('secret-app', `/page?x=1&token=${TOKEN}&y=2`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/page?x=1&y=2');
    const cookie = res.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(/^cove_port_token=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(cookie).not.toMatch(/domain/i);
    expect(app.seen.length).toBe(before);

    const next = await call('secret-app', '/page?x=1&y=2', { headers: { cookie: `theirs=1; ${cookie.split(';')[0]}` } });
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body)).toMatchObject({ url: '/page?x=1&y=2', headers: { cookie: 'theirs=1' } });
    expectNothingOfOurs(lastSeen());
  });

  it('redirects only within the host, whatever the path looks like', async () => {
    for (const [target, location] of [
      [`//evil.example/x?token=${TOKEN}`, '/.//evil.example/x'],
      [`/\\evil.example/x?token=${TOKEN}`, '/./\\evil.example/x'],
    ]) {
      const client = await RawClient.connect(gw.url);
      client.send(`GET ${target} HTTP/1.1\r\nHost: ${host('secret-app')}\r\n\r\n`);
      const text = await client.until((t) => t.includes('\r\n\r\n'));
      expect(client.statuses).toEqual([302]);
      expect(text).toContain(`\r\nlocation: ${location}\r\n`);
      client.close();
    }
  });

  it('relays a POST with the token in the query without redirecting (its body would be lost)', async () => {
    const res = await call('secret-app', `/form?token=${TOKEN}`, { method: 'POST', body: 'a=1' });
    expect(res.status).toBe(201);
    expect(res.headers['set-cookie']).toContainEqual(expect.stringMatching(/^cove_port_token=/));
    expect(JSON.parse(res.body)).toMatchObject({ url: '/form', body: 'a=1' });
    expectNothingOfOurs(lastSeen());
  });

  it('accepts Authorization: Bearer <token>, which the app does not see', async () => {
    const res = await call('secret-app', '/api', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expectNothingOfOurs(lastSeen());
  });

  it('refuses a wrong or missing token with 401: a page for browsers, JSON for programs', async () => {
    const before = app.seen.length;
    const browser = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const wrongQuery = await call('secret-app', '/?token=nope', { headers: browser });
    expect(wrongQuery.status).toBe(401);
    expect(wrongQuery.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(wrongQuery.body).toContain('wrong token');
    const wrongHeader = await call('secret-app', '/', { headers: { authorization: 'Bearer nope' } });
    expect(wrongHeader.status).toBe(401);
    expect(JSON.parse(wrongHeader.body)).toMatchObject({ success: false, code: 'unauthorized' });
    const wrongCookie = await call('secret-app', '/', { headers: { cookie: 'cove_port_token=nope' } });
    expect(wrongCookie.status).toBe(401);
    const none = await call('secret-app', '/', { headers: browser });
    expect(none.status).toBe(401);
    expect(none.body).toContain('?token=');
    // The token of another port is not this one's.
    gw.routes.setPort({
      workspaceId: 'ws_pub',
      slug: 'other-secret',
      port: app.port,
      auth: 'token',
      tokenSha256: sha256('x'),
      generation: 1,
    });
    const crossed = await call('other-secret', '/', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(crossed.status).toBe(401);
    expect(app.seen.length).toBe(before);
  });

  it('opens a WebSocket with the token in the query (stripped) or the cookie from its own origin only', async () => {
    const viaQuery = await openWs('secret-app', `/ws?token=${TOKEN}&keep=1`);
    expect(lastSeen()).toMatchObject({ upgrade: true, url: '/ws?keep=1' });
    expectNothingOfOurs(lastSeen());
    viaQuery.close();
    const cookie = `cove_port_token=${TOKEN}`;
    const sameOrigin = await openWs('secret-app', '/ws', { cookie, origin: `http://${host('secret-app')}` });
    sameOrigin.close();
    // Another slug's page is the same site: its upgrade carries the cookie, which must not count.
    await expect(openWs('secret-app', '/ws', { cookie, origin: `http://${host('myapp')}` })).rejects.toThrow('upgrade refused: 401');
    await expect(openWs('secret-app', '/ws')).rejects.toThrow('upgrade refused: 401');
  });
});

describe('refusals', () => {
  it('answers an unknown slug 404: HTML for a browser, JSON otherwise', async () => {
    const page = await call('nothing-here', '/', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('no workspace port is exposed at nothing-here.localhost');
    const json = await call('nothing-here', '/');
    expect(json.status).toBe(404);
    expect(JSON.parse(json.body)).toEqual({
      success: false,
      code: 'not_found',
      error: 'no workspace port is exposed at nothing-here.localhost',
    });
    await expect(openWs('nothing-here', '/')).rejects.toThrow('upgrade refused: 404');
  });

  it('answers 503 for a stopped or paused workspace, saying paused when it is', async () => {
    const paused = await call('sleepy', '/', { headers: { accept: 'text/html' } });
    expect(paused.status).toBe(503);
    expect(paused.body).toContain('paused');
    const stopped = await call('gone-app', '/');
    expect(stopped.status).toBe(503);
    expect(JSON.parse(stopped.body)).toMatchObject({ code: 'service_unavailable', error: expect.stringContaining('not running') });
  });

  it('answers 503 when the agent cannot be reached', async () => {
    gw.routes.set({ ...(gw.routes.routes.get('ws_pub') as WorkspaceRoute), workspaceId: 'ws_unreachable', port: 1 });
    gw.routes.setPort({
      workspaceId: 'ws_unreachable',
      slug: 'no-agent',
      port: app.port,
      auth: 'public',
      tokenSha256: null,
      generation: 1,
    });
    const page = await call('no-agent', '/', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('cannot be reached');
  });

  it('answers 502 when nothing listens on the exposed port', async () => {
    gw.routes.setPort({ workspaceId: 'ws_pub', slug: 'no-listener', port: 1, auth: 'public', tokenSha256: null, generation: 1 });
    const res = await call('no-listener', '/');
    expect(res.status).toBe(502);
  });
});

describe('revocation', () => {
  it('cuts a live WebSocket and a kept-alive connection when the port is revoked', async () => {
    gw.routes.setPort({ workspaceId: 'ws_pub', slug: 'revoked', port: app.port, auth: 'public', tokenSha256: null, generation: 1 });
    const ws = await openWs('revoked', '/live');
    const client = await RawClient.connect(gw.url);
    client.send(`GET /kept HTTP/1.1\r\nHost: ${host('revoked')}\r\n\r\n`);
    await client.until((t) => t.includes('"url":"/kept"'));
    gw.routes.revokePort('revoked');
    // Nothing is sent on either: the gateway's sweep closes them.
    await Promise.all([closed(ws), client.untilClosed(10_000)]);
    const after = await call('revoked', '/');
    expect(after.status).toBe(404);
  });

  it('cuts connections when the port changes (another generation) or the workspace stops', async () => {
    gw.routes.setPort({ workspaceId: 'ws_pub', slug: 'changing', port: app.port, auth: 'public', tokenSha256: null, generation: 1 });
    const ws = await openWs('changing', '/live');
    gw.routes.updatePort('changing', { auth: 'token', tokenSha256: sha256(TOKEN) });
    await closed(ws);

    gw.routes.set({ ...(gw.routes.routes.get('ws_pub') as WorkspaceRoute), workspaceId: 'ws_stopping' });
    gw.routes.setPort({ workspaceId: 'ws_stopping', slug: 'stopping', port: app.port, auth: 'public', tokenSha256: null, generation: 1 });
    const client = await RawClient.connect(gw.url);
    client.send(`GET /kept HTTP/1.1\r\nHost: ${host('stopping')}\r\n\r\n`);
    await client.until((t) => t.includes('"url":"/kept"'));
    const other = await openWs('myapp', '/unrelated');
    gw.routes.update('ws_stopping', { running: false });
    await client.untilClosed(10_000);
    // A connection of another workspace stays.
    const echoed = new Promise((resolve) => other.once('message', resolve));
    other.send('still here');
    expect(String(await echoed)).toBe('still here');
    other.close();
  });
});

describe('host names', () => {
  it('reads the slug whatever the case, with or without a port', async () => {
    for (const name of ['MYAPP.LOCALHOST', 'MyApp.LocalHost:1234', 'myapp.localhost']) {
      const res = await rawRequest(`${gw.url}/case`, { headers: { host: name } });
      expect(res.status, name).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ url: '/case', headers: { host: name } });
    }
  });

  it('leaves every other host to the data plane: two labels, the bare domain, reserved names, IP addresses', async () => {
    for (const name of [
      'a.myapp.localhost',
      `localhost:${gwPort}`,
      'localhost',
      'api.localhost',
      '127.0.0.1',
      '..localhost',
      'myapp.localhost.evil.com',
    ]) {
      const res = await rawRequest(`${gw.url}/x`, { headers: { host: name } });
      expect(res.status, name).toBe(401);
      expect(JSON.parse(res.body), name).toMatchObject({ code: 'unauthorized', error: expect.stringContaining('bearer token') });
    }
  });

  it('refuses hostile host names clearly, never crashing', async () => {
    const cases: Array<[string, number]> = [
      ['my%41pp.localhost', 400],
      ['my_app.localhost', 400],
      ['m\u00fcller.localhost', 400],
      [`${'a'.repeat(64)}.localhost`, 400],
      ['myapp.localhost:notaport', 401],
      ['xn--mller-kva.localhost', 404],
      ['ab.localhost', 404],
      ['-myapp.localhost', 404],
    ];
    for (const [name, status] of cases) {
      const client = await RawClient.connect(gw.url);
      client.send(Buffer.from(`GET / HTTP/1.1\r\nHost: ${name}\r\n\r\n`, 'latin1'));
      await client.until((t) => /\r\n\r\n[\s\S]*\}$/.test(t));
      expect(client.statuses, name).toEqual([status]);
      client.close();
    }
    for (const head of [
      'GET / HTTP/1.1\r\nHost: myapp.localhost\r\nHost: other.localhost\r\n\r\n',
      'GET http://other.localhost/ HTTP/1.1\r\nHost: myapp.localhost\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: myapp.localhost\x00\r\n\r\n',
      `GET / HTTP/1.1\r\nHost: ${'a.'.repeat(5000)}localhost\r\n\r\n`,
    ]) {
      const client = await RawClient.connect(gw.url);
      client.send(head);
      await client.untilClosed();
      expect(client.statuses.length, JSON.stringify(head.slice(0, 60))).toBe(1);
      expect(client.statuses[0]).toBeGreaterThanOrEqual(400);
      expect(client.statuses[0]).toBeLessThan(500);
    }
    // The gateway still serves.
    expect((await call('myapp', '/after')).status).toBe(200);
  });

  it('serves the configured preview domain only', async () => {
    const other = await startTestGateway({ routes: gw.routes, previewDomain: 'Preview.Example.COM' });
    try {
      const ok = await rawRequest(`${other.url}/p`, { headers: { host: 'myapp.preview.example.com' } });
      expect(ok.status).toBe(200);
      const local = await rawRequest(`${other.url}/p`, { headers: { host: 'myapp.localhost' } });
      expect(local.status).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe('a routes file', () => {
  it('reads validated public ports; a token may be given in clear', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-routes-'));
    try {
      const file = path.join(dir, 'routes.json');
      const workspaces = [{ workspaceId: 'ws_a', ip: '127.0.0.1', port: 9990, rawToken: 'r' }];
      await writeFile(
        file,
        JSON.stringify({
          workspaces,
          publicPorts: [
            { workspaceId: 'ws_a', slug: 'web-app', port: 3000 },
            { workspaceId: 'ws_a', slug: 'admin-ui', port: 8080, auth: 'token', token: 'secret' },
          ],
        }),
      );
      const routes = new StaticRouteSource(file);
      expect(await routes.getPublicPort('web-app')).toEqual({
        workspaceId: 'ws_a',
        slug: 'web-app',
        port: 3000,
        auth: 'public',
        tokenSha256: null,
        generation: 1,
      });
      expect(await routes.getPublicPort('admin-ui')).toMatchObject({ auth: 'token', tokenSha256: sha256('secret') });
      expect(await routes.getPublicPort('nope')).toBeUndefined();
      for (const bad of [
        { workspaceId: 'ws_a', slug: 'Web', port: 3000 },
        { workspaceId: 'ws_a', slug: '../x', port: 3000 },
        { workspaceId: 'ws_zz', slug: 'web-app', port: 3000 },
        { workspaceId: 'ws_a', slug: 'web-app', port: 70000 },
        { workspaceId: 'ws_a', slug: 'web-app', port: 3000, auth: 'token' },
        { workspaceId: 'ws_a', slug: 'web-app', port: 3000, auth: 'magic' },
      ]) {
        await writeFile(file, JSON.stringify({ workspaces, publicPorts: [bad] }));
        expect(() => routes.reload(), JSON.stringify(bad)).toThrow(/public port/);
      }
      await writeFile(
        file,
        JSON.stringify({
          workspaces,
          publicPorts: [
            { workspaceId: 'ws_a', slug: 'twice', port: 1 },
            { workspaceId: 'ws_a', slug: 'twice', port: 2 },
          ],
        }),
      );
      expect(() => routes.reload()).toThrow(/listed twice/);
      // A failed reload keeps the previous table.
      expect(await routes.getPublicPort('web-app')).toBeDefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
