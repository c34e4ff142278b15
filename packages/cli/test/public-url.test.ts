// End to end: `cove up` (process driver), an app started in a workspace through the SDK, `cove expose`, and the
// app reached at its public URL — by HTTP requests as curl sends them (Host: <slug>.localhost:<port>) and by
// headless Chromium (Debian's, through playwright-core), whose page opens a WebSocket back to its own origin.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createServer, type LookupFunction } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Oblien, type Runtime } from '@cove/sdk';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COVE_BIN, cleanEnv, runCove } from './helpers/stack.js';

const CHROMIUM = process.env.COVE_CHROMIUM ?? '/usr/bin/chromium';
const WS_MODULE = createRequire(import.meta.url).resolve('ws');

/** Every `*.localhost` name is this machine (as browsers and curl resolve them; glibc here does not). */
const loopback = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (options?.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to a public URL, as curl sends it. */
function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, lookup: loopback, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The app: a page that opens a WebSocket to its own origin and shows the echo; JSON for everything else. */
const APP = `
const http = require('node:http');
const { WebSocketServer } = require(${JSON.stringify(WS_MODULE)});
const PAGE = '<!doctype html><title>app</title><p id="out">waiting</p><script>' +
  'const s = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/live");' +
  's.onopen = () => s.send("from the page");' +
  's.onmessage = (e) => { document.getElementById("out").textContent = e.data; };' +
  's.onerror = () => { document.getElementById("out").textContent = "websocket error"; };' +
  '</script>';
const server = http.createServer((req, res) => {
  if (req.url === '/') { res.setHeader('content-type', 'text/html'); res.setHeader('set-cookie', 'app=1; Path=/'); return res.end(PAGE); }
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, body, cookie: req.headers.cookie ?? null }));
  });
});
new WebSocketServer({ server }).on('connection', (socket) => socket.on('message', (m) => socket.send('echo: ' + m)));
server.listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));
`;

let dataDir: string;
let up: ChildProcess;
let gatewayUrl: string;
let env: Record<string, string>;
let client: Oblien;
let id: string;
let rt: Runtime;
let appTask: string | undefined;
let appPort: number;
let browser: Browser | undefined;

/**
 * The status a URL answers once the gateway's route cache (`cove up`'s default: half a second) has caught up:
 * asked again until it is `status`, bounded by the test's timeout only.
 */
async function eventually(url: string, status: number): Promise<Answer> {
  for (;;) {
    const res = await request(url);
    if (res.status === status) return res;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function cove(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const res = await runCove(args, { env });
  return { code: res.code, stdout: res.stdout.toString(), stderr: res.stderr };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'cove-public-url-'));
  up = spawn(
    process.execPath,
    [COVE_BIN, 'up', '--driver', 'process', '--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0'],
    { env: { ...cleanEnv(), COVE_LOG_LEVEL: 'warn' } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    up.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    up.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/cove up: control plane/.test(out)) resolve();
    });
    up.on('exit', (code) => reject(new Error(`cove up exited ${code}: ${out}`)));
  });
  const creds = JSON.parse(await readFile(path.join(dataDir, 'credentials.json'), 'utf8'));
  gatewayUrl = creds.gateway_url;
  env = { COVE_DATA_DIR: dataDir };
  client = new Oblien({ clientId: creds.client_id, clientSecret: creds.client_secret, baseURL: creds.api_url, gatewayURL: gatewayUrl });
  id = (await client.workspaces.create({ name: 'site' })).id;
  // Public access only to start the app through the gateway's Internal API; the public URLs do without it.
  await client.workspaces.network.update(id, { public_access: true });
  rt = await client.workspaces.runtime(id);
  appPort = await freePort();
  // The app runs as a task of the workspace; the stream is left once it listens (the task keeps running).
  for await (const event of rt.exec.stream(['node', '-e', APP, String(appPort)])) {
    if (event.event === 'task_id') appTask = (event as { task_id?: string }).task_id;
    if (
      event.event === 'stdout' &&
      Buffer.from(String((event as { data?: string }).data), 'base64')
        .toString()
        .includes('listening')
    )
      break;
    if (event.event === 'exit') throw new Error('the app exited');
  }
  await client.workspaces.network.update(id, { public_access: false });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  // The app dies with the workspace's agent when `cove up` stops; killing it first is tidier.
  if (appTask)
    await client?.workspaces.network
      .update(id, { public_access: true })
      .then(() => rt.exec.kill(appTask as string))
      .catch(() => {});
  if (up && up.exitCode === null) {
    up.kill('SIGTERM');
    await once(up, 'exit');
  }
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('public URLs, end to end', () => {
  it('a public port answers at its URL with no token; revoked, it stops answering', { timeout: 60_000 }, async () => {
    const exposed = await cove(['expose', 'site', String(appPort), '--slug', 'e2e-open']);
    expect(exposed.code).toBe(0);
    const url = exposed.stdout.trim();
    expect(url).toBe(`http://e2e-open.localhost:${new URL(gatewayUrl).port}/`);
    const res = await request(`${url}api/echo?q=1`, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ method: 'POST', url: '/api/echo?q=1', body: 'payload' });
    // The app's own cookies pass: every public port is its own origin.
    expect((await request(url)).headers['set-cookie']).toEqual(['app=1; Path=/']);

    const renamed = await client.workspaces.publicAccess.updateSlug(id, appPort, { slug: 'e2e-renamed' });
    expect((await request(`${renamed.url}x`)).status).toBe(200);
    await eventually(`${url}x`, 404);
    expect((await cove(['expose', 'rm', 'site', String(appPort)])).code).toBe(0);
    const gone = await eventually(`${renamed.url}x`, 404);
    expect(JSON.parse(gone.body)).toMatchObject({ success: false, code: 'not_found' });
  });

  it('a token port needs its token: refused without, accepted as ?token (then a cookie) or a Bearer header', {
    timeout: 60_000,
  }, async () => {
    const exposed = await cove(['expose', 'site', String(appPort), '--slug', 'e2e-token', '--auth', 'token']);
    const [url, tokenLine] = exposed.stdout.split('\n');
    const token = (tokenLine ?? '').replace(/^token: /, '');
    expect(token).toMatch(/^cpt_/);
    expect((await request(`${url}api`)).status).toBe(401);
    expect((await request(`${url}api?token=cpt_wrong`)).status).toBe(401);
    const bearer = await request(`${url}api`, { headers: { authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);
    const redirect = await request(`${url}api?token=${token}`);
    expect(redirect.status).toBe(302);
    const cookie = String(redirect.headers['set-cookie']?.[0]).split(';')[0] as string;
    const withCookie = await request(`${url}api`, { headers: { cookie: `${cookie}; mine=1` } });
    expect(withCookie.status).toBe(200);
    // The gateway keeps its cookie to itself: the app sees only its own.
    expect(JSON.parse(withCookie.body).cookie).toBe('mine=1');
  });

  it('headless Chromium loads the page at its URL and the page talks to the app over a WebSocket', { timeout: 90_000 }, async () => {
    // Revoked first: a token is issued when a port becomes a token port, and this one already is.
    await client.workspaces.publicAccess.revoke(id, appPort);
    const port = await client.workspaces.publicAccess.expose(id, { port: appPort, slug: 'e2e-browser', auth: 'token' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage();
    await page.goto(`${port.url}?token=${port.token}`);
    // The token left the address bar for a cookie; the page's WebSocket to its own origin carries it.
    expect(page.url()).toBe(port.url);
    // The page's script writes the echo (or the WebSocket's error) into #out.
    await page.waitForSelector('#out:not(:text-is("waiting"))');
    expect(await page.textContent('#out')).toBe('echo: from the page');
  });

  it('a stopped workspace keeps its ports; the gateway answers 503 until it runs again', { timeout: 60_000 }, async () => {
    const port = await client.workspaces.publicAccess.expose(id, { port: appPort, slug: 'e2e-stopped', auth: 'public' });
    await eventually(port.url as string, 200);
    expect((await cove(['ws', 'stop', 'site'])).code).toBe(0);
    expect((await eventually(port.url as string, 503)).status).toBe(503);
    expect((await client.workspaces.publicAccess.list(id)).map((p) => p.slug)).toContain('e2e-stopped');
  });
});
