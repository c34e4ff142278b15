import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { TestAgent } from '../helpers/agent.js';
import { type TestApp, useAgentAndApp } from './test-app.js';

let t: TestAgent;
let app: TestApp;

useAgentAndApp((agent, started) => {
  t = agent;
  app = started;
});

interface Opened {
  ws: WebSocket;
  hello: { url: string; headers: Record<string, string> };
  requestId: string | undefined;
}

function open(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    let requestId: string | undefined;
    ws.once('upgrade', (res) => {
      requestId = res.headers['x-request-id'] as string | undefined;
    });
    ws.once('message', (data) => resolve({ ws, hello: JSON.parse(String(data)), requestId }));
    ws.once('error', reject);
  });
}

function refusal(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.on('open', () => reject(new Error('opened')));
    ws.on('error', () => {});
  });
}

const wsBase = () => t.url.replace(/^http/, 'ws');

describe('/proxy WebSocket upgrades', () => {
  it('relays text and binary frames both ways, stripping token and target from the app\u2019s view', async () => {
    const { ws, hello, requestId } = await open(`${wsBase()}/proxy/ws/chat?room=1&token=${t.token}&x_oblien_target=${app.port}`, {
      headers: { 'x-request-id': 'ws-req-1' },
    });
    expect(hello.url).toBe('/ws/chat?room=1');
    expect(JSON.stringify(hello.headers)).not.toContain(t.token);
    expect(hello.headers['x-request-id']).toBe('ws-req-1');
    expect(requestId).toBe('ws-req-1');

    const binary = Buffer.from([0, 1, 2, 253, 254, 255]);
    const echoes: Array<{ data: Buffer; isBinary: boolean }> = [];
    const got = new Promise<void>((resolve) =>
      ws.on('message', (data, isBinary) => {
        echoes.push({ data: data as Buffer, isBinary });
        if (echoes.length === 3) resolve();
      }),
    );
    ws.send('text frame');
    ws.send(binary);
    const big = Buffer.alloc(2 * 1024 * 1024, 7);
    ws.send(big);
    await got;
    expect(echoes[0]).toEqual({ data: Buffer.from('text frame'), isBinary: false });
    expect(echoes[1]).toEqual({ data: binary, isBinary: true });
    expect(echoes[2]?.data.equals(big)).toBe(true);
    ws.close();
  });

  it('accepts the header token and the path form, and strips a token subprotocol', async () => {
    const a = await open(`${wsBase()}/proxy/${app.port}/ws`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(a.hello.url).toBe('/ws');
    expect(a.hello.headers.authorization).toBeUndefined();
    a.ws.close();
    const b = await open(`${wsBase()}/proxy/ws?x_oblien_target=${app.port}`, { protocols: ['chat', `bearer.${t.token}`] });
    expect(b.hello.headers['sec-websocket-protocol']).toBe('chat');
    b.ws.close();
  });

  it('refuses bad tokens and targets with the error body, and 502 when nothing listens', async () => {
    const noToken = await refusal(`${wsBase()}/proxy/ws?x_oblien_target=${app.port}`);
    expect(noToken).toEqual({ status: 401, body: { success: false, error: 'missing or invalid token', code: 'unauthorized' } });
    const internal = await refusal(`${wsBase()}/proxy/ws?token=${t.token}&x_oblien_target=9990`);
    expect(internal.status).toBe(403);
    const foreign = await refusal(`${wsBase()}/proxy/ws?token=${t.token}&x_oblien_target=10.0.0.1:80`);
    expect(foreign).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    const bad = await refusal(`${wsBase()}/proxy/ws?token=${t.token}&x_oblien_target=65536`);
    expect(bad).toMatchObject({ status: 400, body: { code: 'bad_request' } });
    const gone = await refusal(`${wsBase()}/proxy/ws?token=${t.token}&x_oblien_target=1`);
    expect(gone).toMatchObject({ status: 502, body: { code: 'proxy_target_unreachable' } });
  });

  it('relays the app\u2019s own refusal of an upgrade', async () => {
    const res = await new Promise<{ status: number; text: string }>((resolve) => {
      const ws = new WebSocket(`${wsBase()}/proxy/nows?token=${t.token}&x_oblien_target=${app.port}`);
      ws.on('unexpected-response', (_req, r) => {
        let text = '';
        r.on('data', (c) => {
          text += c;
        });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
      });
      ws.on('error', () => {});
    });
    expect(res).toEqual({ status: 404, text: 'not found' });
  });

  it('relays the app\u2019s close and ends the tunnel', async () => {
    const { ws } = await open(`${wsBase()}/proxy/ws?token=${t.token}&x_oblien_target=${app.port}`);
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    ws.send('close-me');
    expect(await closed).toEqual({ code: 4000, reason: 'bye' });
  });
});
