// The whole path over HTTP only: control plane → gateway → workspace agent (process driver).
import { createGateway, type Gateway } from '@cove/gateway';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';

let t: TestControlPlane;
let gateway: Gateway;
let gatewayUrl: string;

beforeAll(async () => {
  t = await startTestControlPlane();
  // The gateway reads routes from the control plane's store and shares its JWT secret (kept in the store).
  gateway = createGateway({ routes: t.store, secret: t.cp.context.jwtSecret, routeCacheMs: 0, logger: pino({ level: 'silent' }) });
  gatewayUrl = await gateway.listen('127.0.0.1', 0);
});
afterAll(async () => {
  await gateway?.close();
  await t?.close();
});

function gw(token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(gatewayUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

describe('full path: control plane, gateway, agent', () => {
  it('create, enable, public_access, files and a streamed command; rotate and disable revoke the JWT', async () => {
    const id = await t.createWorkspace({ name: 'full-path' });
    const enabled = await t.json('POST', `/workspace/${id}/runtime-api-access/enable`);
    expect(enabled.status).toBe(200);
    const jwt = enabled.body.token as string;

    // Network-dark until public_access is on: the gateway refuses with 403.
    const dark = await gw(jwt, 'GET', '/files/read?path=hello.txt');
    expect(dark.status).toBe(403);
    await dark.body?.cancel();
    expect((await t.json('PATCH', `/workspace/${id}/network`, { body: { public_access: true } })).status).toBe(200);

    const write = await gw(jwt, 'POST', '/files/write', { path: 'hello.txt', content: 'hi from the gateway\n' });
    expect(write.status).toBe(201);
    expect(await write.json()).toMatchObject({ success: true, size: 20 });
    const read = await gw(jwt, 'GET', '/files/read?path=hello.txt');
    expect(await read.json()).toMatchObject({ content: 'hi from the gateway\n', lines: 1 });

    const stream = await gw(jwt, 'POST', '/exec/stream', { cmd: ['sh', '-c', 'cat hello.txt; echo done >&2; exit 3'] });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const events: Array<{ event: string; data: Record<string, unknown> }> = [];
    let current = 'message';
    for (const line of (await stream.text()).split('\n')) {
      if (line.startsWith('event: ')) current = line.slice(7);
      else if (line.startsWith('data: ')) events.push({ event: current, data: JSON.parse(line.slice(6)) });
    }
    const decode = (name: string) =>
      events
        .filter((e) => e.event === name)
        .map((e) => Buffer.from(String(e.data.data), 'base64').toString())
        .join('');
    expect(decode('stdout')).toBe('hi from the gateway\n');
    expect(decode('stderr')).toBe('done\n');
    expect(events.at(-1)).toMatchObject({ event: 'exit', data: { exit_code: 3 } });

    const rotated = await t.json('POST', `/workspace/${id}/runtime-api-access/token`);
    const old = await gw(jwt, 'GET', '/files/read?path=hello.txt');
    expect(old.status).toBe(401);
    await old.body?.cancel();
    const fresh = await gw(rotated.body.token, 'GET', '/files/read?path=hello.txt');
    expect(fresh.status).toBe(200);
    await fresh.body?.cancel();

    await t.json('POST', `/workspace/${id}/runtime-api-access/disable`);
    const after = await gw(rotated.body.token, 'GET', '/files/read?path=hello.txt');
    expect(after.status).toBe(401);
    await after.body?.cancel();
  });
});
