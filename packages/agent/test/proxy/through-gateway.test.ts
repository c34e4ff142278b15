import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestGateway, type TestGateway } from '../../../gateway/test/helpers/gateway.js';
import { mintToken } from '../../../gateway/test/helpers/tokens.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { json, rawRequest } from './helpers.js';
import { type Seen, startTestApp, type TestApp } from './test-app.js';

// The path a caller outside takes: gateway (JWT) → agent (raw token) → /proxy → the app.
let agent: TestAgent;
let gw: TestGateway;
let app: TestApp;
let jwt: string;

beforeAll(async () => {
  agent = await startTestAgent();
  app = await startTestApp();
  gw = await startTestGateway();
  const port = Number(new URL(agent.url).port);
  gw.routes.set({
    workspaceId: 'ws_proxy',
    ip: '127.0.0.1',
    port,
    rawToken: agent.token,
    generation: 1,
    enabled: true,
    publicAccess: true,
    running: true,
  });
  jwt = await mintToken({ wid: 'ws_proxy', ip: '127.0.0.1', port, gen: 1 });
});

afterAll(async () => {
  await gw.close();
  await app.close();
  await agent.close();
});

describe('/proxy through the gateway', () => {
  it('relays HTTP with the target header; neither the JWT nor the agent token reaches the app', async () => {
    const res = await rawRequest(gw.url, {
      method: 'POST',
      path: '/proxy/echo/p?q=1',
      headers: { authorization: `Bearer ${jwt}`, 'x-oblien-proxy-target': String(app.port), 'content-type': 'text/plain' },
      body: 'via gateway',
    });
    expect(res.status).toBe(200);
    const seen = json<Seen>(res);
    expect(seen).toMatchObject({ method: 'POST', url: '/echo/p?q=1', body: 'via gateway' });
    expect(JSON.stringify(seen)).not.toContain(jwt);
    expect(JSON.stringify(seen)).not.toContain(agent.token);
  });

  it('relays the path form and a chunked upload', async () => {
    const form = await rawRequest(gw.url, { path: `/proxy/${app.port}/echo`, headers: { authorization: `Bearer ${jwt}` } });
    expect(json<Seen>(form).url).toBe('/echo');
    const upload = await rawRequest(gw.url, {
      method: 'POST',
      path: '/proxy/upload',
      headers: { authorization: `Bearer ${jwt}`, 'x-oblien-proxy-target': String(app.port), 'transfer-encoding': 'chunked' },
      body: [Buffer.alloc(70_000, 1), Buffer.alloc(30_000, 2)],
    });
    expect(json(upload)).toMatchObject({ bytes: 100_000, te: 'chunked' });
  });

  it('relays a WebSocket opened with ?token=<JWT>&x_oblien_target=<port>, binary frames included', async () => {
    const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/proxy/ws?token=${jwt}&x_oblien_target=${app.port}`);
    const hello = await new Promise<{ url: string; headers: Record<string, string> }>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data))));
      ws.once('error', reject);
    });
    expect(hello.url).toBe('/ws');
    expect(JSON.stringify(hello.headers)).not.toContain(jwt);
    expect(JSON.stringify(hello.headers)).not.toContain(agent.token);
    const frame = Buffer.from([9, 0, 255, 128]);
    const echo = new Promise<{ data: Buffer; isBinary: boolean }>((resolve) =>
      ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
    );
    ws.send(frame);
    expect(await echo).toEqual({ data: frame, isBinary: true });
    ws.close();
  });
});
