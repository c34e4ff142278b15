import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Authorizer } from '../src/authorizer.js';
import { RouteCache } from '../src/route-cache.js';
import { TokenVerifier } from '../src/token-verifier.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { MemoryRouteSource } from './helpers/memory-routes.js';
import { RawClient } from './helpers/raw-socket.js';
import { type RecordingUpstream, startRecordingUpstream } from './helpers/recording-upstream.js';
import { mintToken, SECRET } from './helpers/tokens.js';

// A kept-alive caller sending the same Authorization again is admitted with what admitted it last on that
// connection (no token or route checks run again), as long as the token is within its validity and the route
// cache holds the same route: every change the cache rules make visible is still seen on such a connection.

let up: RecordingUpstream;
let cached: TestGateway;
let briefly: TestGateway;

beforeAll(async () => {
  up = await startRecordingUpstream();
  // A route cached for a minute: only `routeChanged` makes a change visible within the test.
  cached = await startTestGateway({ routeCacheMs: 60_000 });
  briefly = await startTestGateway({ routeCacheMs: 200 });
});

afterAll(async () => {
  await cached.close();
  await briefly.close();
  await up.close();
});

async function route(gw: TestGateway, workspaceId: string): Promise<string> {
  gw.routes.set({
    workspaceId,
    ip: '127.0.0.1',
    port: up.port,
    rawToken: 'r'.repeat(32),
    generation: 1,
    enabled: true,
    publicAccess: true,
    running: true,
  });
  return mintToken({ wid: workspaceId, ip: '127.0.0.1', port: up.port, gen: 1 });
}

const get = (token: string) => `GET /files HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\n\r\n`;

/** Sends one request on `client` and resolves to the status of its answer. */
async function status(client: RawClient, token: string): Promise<number> {
  const before = client.statuses.length;
  client.send(get(token));
  await client.until(() => client.statuses.length > before && client.text.endsWith('}'));
  return client.statuses[before] as number;
}

describe('a kept-alive connection', () => {
  it('sees a route change the control plane reports at once', async () => {
    const token = await route(cached, 'ws_adm_changed');
    const client = await RawClient.connect(cached.url);
    expect(await status(client, token)).toBe(200);
    expect(await status(client, token)).toBe(200);
    cached.routes.rotate('ws_adm_changed');
    cached.gateway.routeChanged('ws_adm_changed');
    expect(await status(client, token)).toBe(401);
    expect(client.text).toContain('token revoked');
    client.close();
  });

  it('sees a route change when the cached route expires', async () => {
    const token = await route(briefly, 'ws_adm_expired');
    const client = await RawClient.connect(briefly.url);
    expect(await status(client, token)).toBe(200);
    expect(await status(client, token)).toBe(200);
    briefly.routes.update('ws_adm_expired', { publicAccess: false });
    // Past the cache's time, nothing else told: the route is looked up again.
    await new Promise((r) => setTimeout(r, 250));
    expect(await status(client, token)).toBe(403);
    client.close();
  });

  it('checks another Authorization on the same connection in full', async () => {
    const token = await route(cached, 'ws_adm_other');
    const client = await RawClient.connect(cached.url);
    expect(await status(client, token)).toBe(200);
    expect(await status(client, `${token}x`)).toBe(401);
    // A token the connection used before is still admitted (nothing changed since).
    expect(await status(client, token)).toBe(200);
    client.close();
  });
});

describe('Authorizer.again', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('admits nothing once the token has expired, and the full check refuses it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const routes = new MemoryRouteSource();
    routes.set({
      workspaceId: 'ws_adm_exp',
      ip: '127.0.0.1',
      port: 9,
      rawToken: 'r'.repeat(32),
      generation: 1,
      enabled: true,
      publicAccess: true,
      running: true,
    });
    const authorizer = new Authorizer(new TokenVerifier({ secret: SECRET, clockToleranceSeconds: 0 }), new RouteCache(routes, 3_600_000));
    const token = await mintToken({ wid: 'ws_adm_exp', ip: '127.0.0.1', port: 9, gen: 1 }, { expiresInSeconds: 60 });
    const connection = {};
    const header = `Bearer ${token}`;
    await authorizer.authorize(token, connection, header);
    // The second one is synchronous (token and route cached): it is remembered for the connection.
    const upstream = authorizer.authorize(token, connection, header);
    expect(upstream).not.toBeInstanceOf(Promise);
    expect(authorizer.again(connection, header)).toBe(upstream);
    expect(authorizer.again({}, header)).toBeUndefined();
    expect(authorizer.again(connection, `${header} `)).toBeUndefined();

    vi.setSystemTime(Date.now() + 61_000);
    expect(authorizer.again(connection, header)).toBeUndefined();
    expect(() => authorizer.authorize(token, connection, header)).toThrow('token expired');
  });
});
