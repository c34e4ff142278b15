import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Agent, createAgent, createLogger } from '@cove/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTerminalsDomain } from '../../src/terminals/index.js';

// A real agent with the agent's own logger at debug level, captured, to prove the token never reaches it.
const token = randomBytes(16).toString('hex');
const logLines: string[] = [];
let agent: Agent;
let url: string;
let wsUrl: string;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  agent = await createAgent({
    token: { kind: 'env', value: token },
    workdir: '/tmp',
    logger: createLogger('debug', sink),
    allowedOrigins: ['https://ide.example.com'],
    domains: [createTerminalsDomain()],
  });
  url = await agent.listen('127.0.0.1', 0);
  wsUrl = `${url.replace('http', 'ws')}/ws`;
});
afterAll(async () => {
  await agent.close();
});

/** Opens a socket; resolves to the accepted subprotocol, or the refusal's HTTP status and body. */
function attempt(
  target: string,
  protocols: string | string[] | undefined,
  headers: Record<string, string> = {},
): Promise<{ open: true; protocol: string } | { open: false; status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, protocols, { headers });
    ws.once('open', () => {
      const protocol = ws.protocol;
      ws.close();
      resolve({ open: true, protocol });
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d;
      });
      res.on('end', () => resolve({ open: false, status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

describe('/ws authentication', () => {
  it('accepts the token in the Authorization header', async () => {
    expect(await attempt(wsUrl, undefined, { authorization: `Bearer ${token}` })).toEqual({ open: true, protocol: '' });
  });

  it('accepts ?token= (the official SDK, browsers)', async () => {
    expect(await attempt(`${wsUrl}?token=${encodeURIComponent(token)}`, undefined)).toMatchObject({ open: true });
  });

  it('accepts a subprotocol `bearer.<token>`', async () => {
    expect(await attempt(wsUrl, `bearer.${token}`)).toMatchObject({ open: true });
  });

  it('accepts subprotocols ["bearer", token] and answers `bearer`, never the token', async () => {
    expect(await attempt(wsUrl, ['bearer', token])).toEqual({ open: true, protocol: 'bearer' });
  });

  it('refuses a missing or wrong token with 401 and the error body', async () => {
    const refused = { open: false, status: 401, body: { success: false, code: 'unauthorized', error: 'missing or invalid token' } };
    expect(await attempt(wsUrl, undefined)).toEqual(refused);
    expect(await attempt(`${wsUrl}?token=${token}x`, undefined)).toEqual(refused);
    expect(await attempt(wsUrl, undefined, { authorization: 'Bearer nope' })).toEqual(refused);
    expect(await attempt(wsUrl, ['bearer', 'nope'])).toEqual(refused);
    expect(await attempt(wsUrl, 'bearer.nope')).toEqual(refused);
  });

  it('refuses a foreign Origin with 403, even with a valid token', async () => {
    const res = await attempt(`${wsUrl}?token=${token}`, undefined, { origin: 'https://evil.example.com' });
    expect(res).toEqual({
      open: false,
      status: 403,
      body: { success: false, code: 'forbidden', error: 'cross-site WebSocket upgrade refused' },
    });
    expect(await attempt(`${wsUrl}?token=${token}`, undefined, { origin: 'null' })).toMatchObject({ status: 403 });
  });

  it('accepts its own origin and configured origins', async () => {
    const host = new URL(url).host;
    expect(await attempt(`${wsUrl}?token=${token}`, undefined, { origin: `http://${host}` })).toMatchObject({ open: true });
    expect(await attempt(`${wsUrl}?token=${token}`, undefined, { origin: 'https://ide.example.com' })).toMatchObject({ open: true });
  });

  it('answers other upgrade paths with 404', async () => {
    expect(await attempt(`${url.replace('http', 'ws')}/nope?token=${token}`, undefined)).toMatchObject({ open: false, status: 404 });
  });

  it('never writes the token to the log, at debug level', async () => {
    // Connections with the token everywhere it can be, good and bad, then some traffic.
    await attempt(`${wsUrl}?token=${token}`, undefined);
    await attempt(`${wsUrl}?token=${token}&x=1`, undefined, { origin: 'https://evil.example.com' });
    await attempt(`${wsUrl}?token=${token}`, [`bearer.${token}`]);
    await attempt(wsUrl, ['bearer', token]);
    await attempt(`${wsUrl}?token=${token.slice(0, 10)}`, undefined);
    const res = await fetch(`${url}/terminals?token=${token}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const joined = logLines.join('');
    expect(joined).toContain('websocket connected');
    expect(joined).toContain('[REDACTED]');
    expect(joined).not.toContain(token);
    expect(joined).not.toContain(token.slice(0, 10));
  });
});
