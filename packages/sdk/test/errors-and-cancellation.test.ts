// What users rely on beyond the happy path: typed errors, timeouts, cancellation, token refresh.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AbortError,
  APIError,
  AuthenticationError,
  BadRequestError,
  ConnectionError,
  NotFoundError,
  PermissionDeniedError,
  Runtime,
  TimeoutError,
} from '@cove/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../../agent/test/helpers/agent.js';

let t: TestAgent;
let rt: Runtime;

beforeAll(async () => {
  t = await startTestAgent();
  rt = new Runtime({ baseURL: t.url, token: t.token });
});
afterAll(async () => {
  await t.close();
});

function openConnections(): Promise<number> {
  return new Promise((resolve, reject) => t.agent.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

describe('errors are thrown, typed by status', () => {
  it('404 is a NotFoundError with the server code and message', async () => {
    const err = await rt.files.read({ filePath: `${t.workdir}/missing.txt` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ status: 404, code: 'not_found' });
    expect((err as Error).message).toContain('missing.txt');
  });

  it('400 is a BadRequestError; 403 a PermissionDeniedError', async () => {
    await expect(rt.files.read({ filePath: '' })).rejects.toBeInstanceOf(BadRequestError);
    await expect(rt.files.delete({ path: '/usr' })).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it('a wrong token is an AuthenticationError', async () => {
    const wrong = new Runtime({ baseURL: t.url, token: 'nope' });
    await expect(wrong.exec.list()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('requestId is the x-request-id the server answered with', async () => {
    const err = await rt.files.read({ filePath: `${t.workdir}/missing.txt` }).then(
      () => undefined,
      (e: unknown) => e as APIError,
    );
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err?.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const denied = await new Runtime({ baseURL: t.url, token: 'nope' }).exec.list().then(
      () => undefined,
      (e: unknown) => e as APIError,
    );
    expect(denied?.requestId).toEqual(expect.any(String));
  });

  it('an unreachable server is a ConnectionError', async () => {
    const gone = new Runtime({ baseURL: 'http://127.0.0.1:1', token: 'x', maxRetries: 0 });
    await expect(gone.exec.list()).rejects.toBeInstanceOf(ConnectionError);
  });
});

describe('errors from other servers', () => {
  let other: Server;
  let otherURL: string;
  let answer: { status: number; headers: Record<string, string>; body: unknown } = { status: 500, headers: {}, body: {} };
  beforeAll(async () => {
    other = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherURL = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    other.closeAllConnections();
    await new Promise((resolve) => other.close(resolve));
  });
  const failure = async (): Promise<APIError> => {
    const err = await new Runtime({ baseURL: otherURL, token: 'x', maxRetries: 0 }).exec.list().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof APIError)) throw new Error(`expected an APIError, got ${String(err)}`);
    return err;
  };

  it('takes the request id from the header first, then from the body (requestId, request_id)', async () => {
    answer = {
      status: 400,
      headers: { 'x-request-id': 'from-header' },
      body: { error: 'bad', code: 'bad_request', requestId: 'from-body' },
    };
    expect(await failure()).toMatchObject({ requestId: 'from-header', code: 'bad_request' });
    answer = { status: 400, headers: {}, body: { error: 'bad', requestId: 'camel' } };
    expect((await failure()).requestId).toBe('camel');
    answer = { status: 400, headers: {}, body: { error: 'bad', request_id: 'snake' } };
    expect((await failure()).requestId).toBe('snake');
    answer = { status: 400, headers: {}, body: { error: 'bad' } };
    expect((await failure()).requestId).toBeUndefined();
  });

  it('keeps an unknown code as sent, and a 422 (which no Cove server sends) is a plain APIError', async () => {
    answer = { status: 422, headers: {}, body: { error: 'nope', code: 'validation_error' } };
    const err = await failure();
    expect(err.constructor).toBe(APIError);
    expect(err).toMatchObject({ status: 422, code: 'validation_error', message: 'nope' });
  });
});

describe('timeouts and cancellation', () => {
  let slow: Server;
  let slowURL: string;
  beforeAll(async () => {
    slow = createServer(() => {
      // Never answers.
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    slowURL = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    slow.closeAllConnections();
    await new Promise((resolve) => slow.close(resolve));
  });

  it('a call past its timeout fails with TimeoutError', async () => {
    const r = new Runtime({ baseURL: slowURL, token: 'x', maxRetries: 0 });
    await expect(r.exec.list({ timeout: 200 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it('an aborted signal fails with AbortError', async () => {
    const r = new Runtime({ baseURL: slowURL, token: 'x', maxRetries: 0 });
    const controller = new AbortController();
    const call = r.exec.list({ signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(AbortError);
  });

  it('breaking out of a stream ends the request on the server', async () => {
    const before = await openConnections();
    const stream = rt.exec.stream(['sh', '-c', 'while true; do echo tick; sleep 0.05; done']);
    let taskId = '';
    for await (const ev of stream) {
      if (ev.event === 'task_id') taskId = ev.task_id;
      if (ev.event === 'stdout') break;
    }
    await expect.poll(openConnections, { timeout: 5_000 }).toBeLessThanOrEqual(before);
    // The task itself outlives the stream that started it.
    expect((await rt.exec.get(taskId)).status).toBe('running');
    await rt.exec.kill(taskId);
  });

  it('an AbortSignal ends a stream', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const consume = (async () => {
      for await (const ev of rt.exec.stream(
        ['sh', '-c', 'while true; do echo tick; sleep 0.05; done'],
        {},
        { signal: controller.signal },
      )) {
        seen.push(ev.event);
        if (ev.event === 'stdout') controller.abort();
      }
    })();
    await expect(consume).rejects.toBeDefined();
    expect(seen).toContain('stdout');
    await rt.exec.deleteAll();
  });
});

describe('token refresh', () => {
  it('asks for a fresh token once after a 401, then retries', async () => {
    let refreshed = 0;
    let current = 'stale-token';
    const r = new Runtime({
      baseURL: t.url,
      tokens: {
        get: () => current,
        refresh: async () => {
          refreshed++;
          current = t.token;
          return current;
        },
      },
    });
    const tasks = await r.exec.list();
    expect(Array.isArray(tasks)).toBe(true);
    expect(refreshed).toBe(1);
  });
});
