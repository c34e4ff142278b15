// @cove/sdk's rt.proxy(port) against a real agent (raw token) and a real app on a loopback port.
import { ConnectionError, Runtime } from '@cove/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../../agent/test/helpers/agent.js';
import { type Seen, startTestApp, type TestApp } from '../../agent/test/proxy/test-app.js';

let t: TestAgent;
let app: TestApp;
let rt: Runtime;

beforeAll(async () => {
  t = await startTestAgent();
  app = await startTestApp();
  rt = new Runtime({ baseURL: t.url, token: t.token });
});

afterAll(async () => {
  await app.close();
  await t.close();
});

describe('rt.proxy(port)', () => {
  it('fetch() returns the app\u2019s raw Response; the token never reaches the app', async () => {
    const res = await rt.proxy(app.port).fetch('/echo/x?limit=10', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': '1' },
      body: '{"name":"ada"}',
    });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Seen;
    expect(seen).toMatchObject({ method: 'POST', url: '/echo/x?limit=10', body: '{"name":"ada"}' });
    expect(seen.headers['x-custom']).toBe('1');
    expect(seen.headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(t.token);
  });

  it('fetch() streams a request body and passes the app\u2019s statuses as they are', async () => {
    const chunks = [new Uint8Array(50_000), new Uint8Array(25_000)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const upload = await rt.proxy(app.port, '127.0.0.1').fetch('/upload', { method: 'POST', body });
    expect(await upload.json()).toMatchObject({ bytes: 75_000, te: 'chunked' });
    const teapot = await rt.proxy(app.port).fetch('/status/418');
    expect(teapot.status).toBe(418);
    expect(await teapot.text()).toBe('status 418');
  });

  it('fetch() hands the runtime\u2019s refusals back as the error body', async () => {
    const res = await rt.proxy(9990).fetch('/');
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ success: false, code: 'forbidden' });
    const gone = await rt.proxy(1).fetch('/');
    expect(gone.status).toBe(502);
    expect(await gone.json()).toMatchObject({ success: false, code: 'proxy_target_unreachable' });
  });

  it('refuses invalid ports locally, and an unreachable runtime is a ConnectionError', async () => {
    expect(() => rt.proxy(0)).toThrow(RangeError);
    expect(() => rt.proxy(65536)).toThrow(RangeError);
    expect(() => rt.proxy(3000.5)).toThrow(RangeError);
    expect(rt.proxy(3000, '::1').target).toBe('[::1]:3000');
    expect(rt.proxy(3000).url('api')).toBe(`${t.url}/proxy/api`);
    const nowhere = new Runtime({ baseURL: 'http://127.0.0.1:1', token: 'x' });
    await expect(nowhere.proxy(3000).fetch('/')).rejects.toBeInstanceOf(ConnectionError);
  });

  it('ws() opens a WebSocket to the app: text and binary frames echo', async () => {
    const socket = await rt.proxy(app.port).ws('/ws/room?x=1');
    socket.binaryType = 'arraybuffer';
    const messages: unknown[] = [];
    const three = new Promise<void>((resolve) => {
      socket.onmessage = (e) => {
        messages.push(e.data);
        if (messages.length === 3) resolve();
      };
    });
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    socket.send('hi');
    socket.send(new Uint8Array([1, 2, 255]));
    await three;
    const hello = JSON.parse(messages[0] as string) as { url: string };
    expect(hello.url).toBe('/ws/room?x=1');
    expect(messages[1]).toBe('hi');
    expect([...new Uint8Array(messages[2] as ArrayBuffer)]).toEqual([1, 2, 255]);
    socket.close();
  });
});
