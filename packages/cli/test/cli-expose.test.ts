// `cove expose` and `cove port-forward`, run as users run them, against a real stack (process driver: the
// workspace shares the host's network, so an app the test starts on a loopback port is the workspace's app).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers/stack.js';

const WS_MODULE = createRequire(import.meta.url).resolve('ws');

let stack: Stack;
let id: string;

beforeAll(async () => {
  stack = await startStack();
  const created = await stack.run(['ws', 'create', '--name', 'expose-ws', '--json']);
  id = JSON.parse(created.stdout.toString()).id;
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read parsed JSON field by field and assert on it
const json = (out: Buffer): any => JSON.parse(out.toString());
const gatewayPort = () => new URL(stack.gatewayUrl).port;

describe('cove expose', () => {
  it('exposes a port and prints its URL; again is idempotent; ls lists; rm revokes', { timeout: 60_000 }, async () => {
    const exposed = await stack.run(['expose', 'expose-ws', '3000', '--label', 'web']);
    expect(exposed.stderr).toBe('');
    expect(exposed.code).toBe(0);
    const url = exposed.stdout.toString();
    expect(url).toMatch(new RegExp(`^http://3000-${id.slice(3, 9)}-[a-z0-9]{6}\\.localhost:${gatewayPort()}/\\n$`));
    expect((await stack.run(['expose', id, '3000'])).stdout.toString()).toBe(url);

    const named = await stack.run(['expose', id, '8080', '--slug', 'cli-named-app', '--json']);
    expect(json(named.stdout)).toMatchObject({
      port: 8080,
      slug: 'cli-named-app',
      url: `http://cli-named-app.localhost:${gatewayPort()}/`,
    });

    const table = (await stack.run(['expose', 'ls', 'expose-ws'])).stdout.toString();
    expect(table).toMatch(/^PORT +URL +AUTH +LABEL\n/);
    expect(table).toContain(`3000  ${url.trim()}`);
    expect(table).toMatch(/8080 +http:\/\/cli-named-app\.localhost:\d+\/ +public\n/);
    const listed = json((await stack.run(['expose', 'ls', id, '--json'])).stdout);
    expect(listed.map((p: { port: number }) => p.port)).toEqual([3000, 8080]);

    const removed = await stack.run(['expose', 'rm', 'expose-ws', '3000']);
    expect(removed.code).toBe(0);
    expect(removed.stdout.toString()).toBe(`revoked port 3000 of ${id}\n`);
    expect(json((await stack.run(['expose', 'ls', id, '--json'])).stdout).map((p: { port: number }) => p.port)).toEqual([8080]);
    const again = await stack.run(['expose', 'rm', id, '3000']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/port 3000 is not exposed.*\(404 not_found\)\n$/);
  });

  it('--auth token prints the token once; the store keeps only its hash', { timeout: 60_000 }, async () => {
    const res = await stack.run(['expose', id, '4000', '--auth', 'token', '--slug', 'cli-secret-app']);
    expect(res.code).toBe(0);
    const [url, tokenLine, hint] = res.stdout.toString().split('\n');
    expect(url).toBe(`http://cli-secret-app.localhost:${gatewayPort()}/`);
    const token = /^token: (cpt_[0-9a-f]{64})$/.exec(tokenLine ?? '')?.[1];
    expect(token).toBeDefined();
    expect(hint).toMatch(/shown once/);
    const route = await stack.store.getPublicPort('cli-secret-app');
    expect(route?.tokenSha256).toBe(
      createHash('sha256')
        .update(token as string)
        .digest('hex'),
    );
    const again = await stack.run(['expose', id, '4000', '--auth', 'token']);
    expect(again.stdout.toString()).toBe(`${url}\n`);
    const table = (await stack.run(['expose', 'ls', id])).stdout.toString();
    expect(table).toMatch(/4000 +http:\/\/cli-secret-app\.localhost:\d+\/ +token\n/);
    expect(table).not.toContain(token);
  });

  it('bad ports are usage errors (exit 2); the server explains the ones it refuses (exit 1)', async () => {
    for (const bad of ['0', '65536', 'abc', '3000x']) {
      const res = await stack.run(['expose', id, bad]);
      expect(res.code, bad).toBe(2);
      expect(res.stderr, bad).toMatch(/invalid port/);
    }
    const agent = await stack.run(['expose', id, '9990']);
    expect(agent.code).toBe(1);
    expect(agent.stderr).toMatch(/9990 is the workspace agent's own port/);
    const reserved = await stack.run(['expose', id, '3001', '--slug', 'www']);
    expect(reserved.code).toBe(1);
    expect(reserved.stderr).toMatch(/'www' is reserved/);
    const auth = await stack.run(['expose', id, '3001', '--auth', 'basic']);
    expect(auth.code).toBe(2);
  });

  it('root help lists expose and port-forward; their help says what they forward', async () => {
    const root = (await stack.run(['--help'])).stdout.toString();
    expect(root).toMatch(/expose <workspace> <port> +Serve a workspace port at a public URL/);
    expect(root).toMatch(/port-forward <workspace> <port> \[local\]/);
    const help = (await stack.run(['port-forward', '--help'])).stdout.toString();
    expect(help).toMatch(/HTTP requests and WebSocket upgrades, not raw TCP/);
  });
});

/** A free loopback port (closed again: the app takes it). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** The app in the workspace: echoes requests as JSON, sets a header and two cookies, and echoes WebSocket messages. */
const APP = `
const http = require('node:http');
const { WebSocketServer } = require(${JSON.stringify(WS_MODULE)});
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.setHeader('x-app', 'forwarded');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, body, custom: req.headers['x-custom'] ?? null, auth: req.headers.authorization ?? null }));
  });
});
const wss = new WebSocketServer({ server });
wss.on('connection', (socket, req) => socket.on('message', (m) => socket.send('echo:' + m + ' ' + req.url)));
server.listen(Number(process.argv[1]), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

describe('cove port-forward', () => {
  let app: ChildProcess;
  let appPort: number;
  let forward: ChildProcess | undefined;

  beforeAll(async () => {
    appPort = await freePort();
    app = spawn(process.execPath, ['-e', APP, String(appPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(app.stdout as NodeJS.ReadableStream, 'data');
    expect((await stack.run(['network', 'set', id, '--public-access'])).code).toBe(0);
  });
  afterAll(() => {
    forward?.kill('SIGKILL');
    app?.kill('SIGKILL');
  });

  it('relays HTTP requests (method, path, body, headers) and WebSockets', { timeout: 60_000 }, async () => {
    forward = stack.start(['port-forward', 'expose-ws', String(appPort), '0']);
    let out = '';
    const line = await new Promise<string>((resolve, reject) => {
      forward?.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out);
      });
      forward?.on('exit', (code) => reject(new Error(`port-forward exited ${code}`)));
    });
    const local = /^Forwarding (http:\/\/127\.0\.0\.1:\d+) -> (ws_[a-z0-9]+):(\d+) \(HTTP and WebSockets; Ctrl-C to stop\)\n$/.exec(line);
    expect(local?.[2]).toBe(id);
    const base = local?.[1] as string;

    const res = await fetch(`${base}/api/items?x=1`, {
      method: 'POST',
      headers: { 'x-custom': 'yes', 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-app')).toBe('forwarded');
    // The gateway's /proxy shares one origin among workspaces, so it drops the app's cookies (expose keeps them).
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await res.json()).toEqual({ method: 'POST', url: '/api/items?x=1', body: 'hello', custom: 'yes', auth: null });

    const { WebSocket } = await import('ws');
    const socket = new WebSocket(`${base.replace('http', 'ws')}/live?room=7`);
    await once(socket, 'open');
    socket.send('ping');
    const [message] = await once(socket, 'message');
    expect(String(message)).toBe('echo:ping /live?room=7');
    socket.close();

    forward.kill('SIGTERM');
    const [code] = await once(forward, 'exit');
    expect(code).toBe(0);
  });

  it('a port nothing listens on answers 502 from the agent, through the forward', { timeout: 60_000 }, async () => {
    const dead = await freePort();
    forward = stack.start(['port-forward', id, String(dead), '0']);
    const [chunk] = await once(forward.stdout as NodeJS.ReadableStream, 'data');
    const base = /(http:\/\/127\.0\.0\.1:\d+)/.exec(String(chunk))?.[1] as string;
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(502);
    forward.kill('SIGTERM');
    await once(forward, 'exit');
  });
});
