import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../../agent/test/helpers/agent.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { mintToken } from './helpers/tokens.js';

// Browser apps on another origin call the gateway with fetch: CORS for the listed origins only.
const APP = 'https://ide.example.test';
let agent: TestAgent;
let gw: TestGateway;
let token: string;

beforeAll(async () => {
  agent = await startTestAgent();
  gw = await startTestGateway({ allowedOrigins: [APP] });
  const port = Number(new URL(agent.url).port);
  gw.routes.set({
    workspaceId: 'ws_cors',
    ip: '127.0.0.1',
    port,
    rawToken: agent.token,
    generation: 1,
    enabled: true,
    publicAccess: true,
    running: true,
  });
  token = await mintToken({ wid: 'ws_cors', ip: '127.0.0.1', port, gen: 1 });
});
afterAll(async () => {
  await gw.close();
  await agent.close();
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin without a token', async () => {
    const res = await fetch(`${gw.url}/exec`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
  });

  it('marks answers to an allowed origin readable, errors included', async () => {
    const ok = await fetch(`${gw.url}/runtime`, { headers: { origin: APP, authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-expose-headers')).toContain('content-range');
    await ok.body?.cancel();
    const refused = await fetch(`${gw.url}/runtime`, { headers: { origin: APP } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
    await refused.body?.cancel();
  });

  it('gives other origins nothing: no CORS headers, and a preflight needs a token', async () => {
    const res = await fetch(`${gw.url}/runtime`, { headers: { origin: 'https://evil.example.test', authorization: `Bearer ${token}` } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await res.body?.cancel();
    const preflight = await fetch(`${gw.url}/exec`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.test', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(401);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    await preflight.body?.cancel();
  });
});
