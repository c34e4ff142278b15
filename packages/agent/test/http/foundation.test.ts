import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

let t: TestAgent;
beforeAll(async () => {
  t = await startTestAgent();
});
afterAll(async () => {
  await t.close();
});

describe('health', () => {
  it('answers without a token', async () => {
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('ignores a bearer header, even a wrong one (the official SDK sends one)', async () => {
    const res = await fetch(`${t.url}/health`, { headers: { authorization: 'Bearer nope' } });
    expect(res.status).toBe(200);
  });
});

describe('authentication', () => {
  it('refuses a missing token with 401 and the error body', async () => {
    const res = await fetch(`${t.url}/runtime`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ success: false, error: 'missing or invalid token', code: 'unauthorized' });
  });

  it('refuses a wrong token, a token of another length and a malformed header', async () => {
    for (const header of [`Bearer ${t.token.slice(0, -1)}x`, `Bearer ${t.token}extra`, t.token, 'Basic abc', 'Bearer']) {
      const res = await fetch(`${t.url}/runtime`, { headers: { authorization: header } });
      expect(res.status, header).toBe(401);
    }
  });

  it('answers 401 before revealing whether a path exists', async () => {
    const res = await fetch(`${t.url}/no/such/thing`);
    expect(res.status).toBe(401);
  });

  it('accepts the right token', async () => {
    const { status, body } = await t.json('GET', '/runtime');
    expect(status).toBe(200);
    expect(body).toMatchObject({ success: true, workdir: t.workdir, protocol_version: '1' });
  });
});

describe('routing errors', () => {
  it('answers an unknown path with 404', async () => {
    const { status, body } = await t.json('GET', '/no/such/thing');
    expect(status).toBe(404);
    expect(body).toEqual({ success: false, error: 'no such endpoint: GET /no/such/thing', code: 'not_found' });
  });

  it('answers a known path with a wrong method with 405 and Allow', async () => {
    const { status, body, headers } = await t.json('DELETE', '/runtime');
    expect(status).toBe(405);
    expect(body).toMatchObject({ success: false, code: 'method_not_allowed' });
    expect(headers.get('allow')).toBe('GET');
  });

  it('serves one default target and refuses others', async () => {
    const { body } = await t.json('GET', '/runtimes');
    expect(body).toMatchObject({ success: true, default_target: 'default', targets: [{ id: 'default', available: true }] });
    const other = await t.json('GET', '/runtimes/gpu/files');
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ success: false });
  });
});

describe('OpenAPI', () => {
  it('serves an OpenAPI 3.1 document of the routes', async () => {
    const { status, body } = await t.json<{ openapi: string; paths: Record<string, unknown> }>('GET', '/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toContain('/runtime');
  });
});

describe('query booleans', () => {
  it('accept 1/0 and yes/no beside true/false, on every route', async () => {
    await t.request('POST', '/files/write', { body: { path: 'b.txt', content: 'x\ny\n' } });
    const numbered = await t.json<{ content: string }>('GET', '/files/read?path=b.txt&with_line_numbers=1');
    expect(numbered.body.content).toBe('1\tx\n2\ty\n');
    const plain = await t.json<{ content: string }>('GET', '/files/read?path=b.txt&with_line_numbers=no');
    expect(plain.body.content).toBe('x\ny\n');
    const bad = await t.json('GET', '/files/read?path=b.txt&with_line_numbers=maybe');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'bad_request' });
    expect(String(bad.body.error)).toContain('with_line_numbers');
  });
});
