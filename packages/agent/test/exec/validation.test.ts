import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

let t: TestAgent;
beforeAll(async () => {
  t = await startTestAgent();
});
afterAll(async () => {
  await t.json('DELETE', '/exec');
  await t.close();
});

const bad = (error: string) => ({ success: false, code: 'bad_request', error });

describe('POST /exec refuses bad input with a 400 that names the parameter', () => {
  const cases: Array<[string, unknown, string]> = [
    ['missing cmd', {}, "missing required parameter 'cmd'"],
    ['null cmd', { cmd: null }, "invalid parameter 'cmd': must be array or string"],
    ['empty cmd', { cmd: [] }, "invalid parameter 'cmd': must NOT have fewer than 1 items"],
    ['empty string cmd', { cmd: '' }, "invalid parameter 'cmd': must NOT have fewer than 1 characters"],
    ['blank program', { cmd: ['  ', 'x'] }, "invalid parameter 'cmd[0]': must not be empty"],
    ['numeric cmd', { cmd: 5 }, "invalid parameter 'cmd': must be array or string"],
    ['boolean cmd', { cmd: true }, "invalid parameter 'cmd': must be array or string"],
    ['object cmd', { cmd: { a: 1 } }, "invalid parameter 'cmd': must be array or string"],
    ['number element', { cmd: ['echo', 1] }, "invalid parameter 'cmd[1]': must be string"],
    ['nested array element', { cmd: ['echo', ['x']] }, "invalid parameter 'cmd[1]': must be string"],
    ['NUL in an argument', { cmd: ['echo', 'a\0b'] }, "invalid parameter 'cmd[1]': must not contain NUL bytes"],
    ['unknown exec_mode', { cmd: ['true'], exec_mode: 'bash' }, "invalid parameter 'exec_mode': must be one of auto, shell, direct"],
    ['non-string exec_mode', { cmd: ['true'], exec_mode: 1 }, "invalid parameter 'exec_mode': must be one of auto, shell, direct"],
    ['negative timeout', { cmd: ['true'], timeout_seconds: -1 }, "invalid parameter 'timeout_seconds': must be >= 0"],
    ['huge timeout', { cmd: ['true'], timeout_seconds: 1e12 }, "invalid parameter 'timeout_seconds': must be <= 604800"],
    ['string timeout', { cmd: ['true'], timeout_seconds: 'soon' }, "invalid parameter 'timeout_seconds': must be number"],
    ['numeric string timeout', { cmd: ['true'], timeout_seconds: '5' }, "invalid parameter 'timeout_seconds': must be number"],
    ['negative timeout alias', { cmd: ['true'], timeout: -5 }, "invalid parameter 'timeout': must be >= 0"],
    ['ttl below -1', { cmd: ['true'], ttl_seconds: -2 }, "invalid parameter 'ttl_seconds': must be >= -1"],
    ['fractional ttl', { cmd: ['true'], ttl_seconds: 1.5 }, "invalid parameter 'ttl_seconds': must be integer"],
    ['huge ttl', { cmd: ['true'], ttl_seconds: 1e15 }, "invalid parameter 'ttl_seconds': must be <= 31536000"],
    ['non-boolean stream', { cmd: ['true'], stream: 'yes' }, "invalid parameter 'stream': must be boolean"],
    ['text boolean stream', { cmd: ['true'], stream: 'true' }, "invalid parameter 'stream': must be boolean"],
    ['non-boolean keep_logs', { cmd: ['true'], keep_logs: {} }, "invalid parameter 'keep_logs': must be boolean"],
    ['numeric keep_logs', { cmd: ['true'], keep_logs: 1 }, "invalid parameter 'keep_logs': must be boolean"],
    ['array env', { cmd: ['true'], env: ['A=1'] }, "invalid parameter 'env': must be object"],
    ['object env value', { cmd: ['true'], env: { A: { b: 1 } } }, "invalid parameter 'env.A': must be string or null"],
    ['number env value', { cmd: ['true'], env: { A: 1 } }, "invalid parameter 'env.A': must be string or null"],
    ['env name with =', { cmd: ['true'], env: { 'A=B': 'x' } }, "invalid parameter 'env': invalid variable name 'A=B'"],
    ['non-string cwd', { cmd: ['true'], cwd: 7 }, "invalid parameter 'cwd': must be string"],
    ['cwd with NUL', { cmd: ['true'], cwd: '/tmp\0x' }, "invalid parameter 'cwd': must not contain NUL bytes"],
    ['unterminated quote', { cmd: "echo 'abc", exec_mode: 'direct' }, "invalid parameter 'cmd': unterminated single quote"],
  ];
  for (const [name, body, error] of cases) {
    it(name, async () => {
      const res = await t.json('POST', '/exec', { body });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(bad(error));
    });
  }

  it('a body that is not an object', async () => {
    for (const body of ['[1,2]', '"x"', '42', 'null']) {
      const res = await t.json('POST', '/exec', { body, headers: { 'content-type': 'application/json' } });
      expect(res.status, body).toBe(400);
      expect(res.body).toEqual(bad('request body must be a JSON object'));
    }
  });

  it('malformed JSON', async () => {
    const res = await t.json('POST', '/exec', { body: '{"cmd": [', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'invalid_json' });
  });

  it('an empty JSON body is {} and so misses cmd (what the SDK sends without a body)', async () => {
    const res = await t.json('POST', '/exec', { body: '', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(bad("missing required parameter 'cmd'"));
  });

  it('curl -d without a content type is parsed as JSON', async () => {
    const res = await t.json('POST', '/exec', {
      body: '{"cmd":["echo","form"]}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ stdout: 'form\n' });
  });

  it('a missing cwd is 404, a file as cwd is 400', async () => {
    const missing = await t.json('POST', '/exec', { body: { cmd: ['pwd'], cwd: 'nope/deeper' } });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'not_found' });
    await t.json('POST', '/exec', { body: { cmd: ['touch', 'afile'] } });
    const file = await t.json('POST', '/exec', { body: { cmd: ['pwd'], cwd: 'afile' } });
    expect(file.status).toBe(400);
    expect(file.body).toEqual(bad(`invalid parameter 'cwd': not a directory: ${t.workdir}/afile`));
  });

  it('a huge command line is refused, not passed to exec', async () => {
    const res = await t.json('POST', '/exec', { body: { cmd: ['echo', 'x'.repeat(2 * 1024 * 1024)] } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(bad("invalid parameter 'cmd': longer than 1048576 bytes"));
  });

  it('unknown fields are ignored (aliases and extras from other clients)', async () => {
    const res = await t.json('POST', '/exec', { body: { cmd: ['true'], something: 1, stream: false } });
    expect(res.status).toBe(200);
  });

  it('requires the token', async () => {
    const res = await t.json('POST', '/exec', { body: { cmd: ['true'] }, headers: { authorization: 'Bearer wrong' } });
    expect(res.status).toBe(401);
  });
});

describe('task routes refuse bad input', () => {
  it('unknown task ids are 404 on every route', async () => {
    for (const [method, path] of [
      ['GET', '/exec/nope'],
      ['DELETE', '/exec/nope'],
      ['POST', '/exec/nope/input'],
      ['POST', '/exec/nope/stdin/close'],
      ['GET', '/exec/stream?task_id=nope'],
      ['GET', `/exec/stream?task_id=${'x'.repeat(5000)}`],
    ] as const) {
      const res = await t.json(method, path, method === 'POST' ? { body: 'x', headers: { 'content-type': 'text/plain' } } : {});
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toMatchObject({ success: false, code: 'not_found' });
    }
    const sig = await t.json('POST', '/exec/nope/signal', { body: { signal: 'SIGINT' } });
    expect(sig.status).toBe(404);
  });

  it('GET /exec/stream without task_id is 400', async () => {
    const res = await t.json('GET', '/exec/stream');
    expect(res.status).toBe(400);
    expect(res.body).toEqual(bad("missing required parameter 'task_id'"));
  });

  it('unknown signals are 400; input and signals to a finished task are 409', async () => {
    const started = await t.json<{ id: string }>('POST', '/exec', { body: { cmd: ['true'] } });
    const id = started.body.id;
    for (const signal of ['SIGNOPE', 'kill -9', 999, '', null, { a: 1 }]) {
      const res = await t.json('POST', `/exec/${id}/signal`, { body: { signal } });
      expect(res.status, JSON.stringify(signal)).toBe(400);
      expect(res.body).toMatchObject({ code: 'bad_request' });
      expect(String(res.body.error)).toContain("'signal'");
    }
    const missing = await t.json('POST', `/exec/${id}/signal`, { body: {} });
    expect(missing.status).toBe(400);
    const sig = await t.json('POST', `/exec/${id}/signal`, { body: { signal: 'SIGINT' } });
    expect(sig.status).toBe(409);
    expect(sig.body).toMatchObject({ code: 'task_not_running' });
    const input = await t.json('POST', `/exec/${id}/input`, { body: 'late', headers: { 'content-type': 'text/plain' } });
    expect(input.status).toBe(409);
    expect(input.body).toMatchObject({ code: 'task_not_running' });
    const close = await t.json('POST', `/exec/${id}/stdin/close`);
    expect(close.status).toBe(409);
  });

  it('wrong methods are 405', async () => {
    expect((await t.json('PUT', '/exec')).status).toBe(405);
    expect((await t.json('PATCH', '/exec/abc')).status).toBe(405);
    expect((await t.json('GET', '/exec/abc/input')).status).toBe(405);
  });
});

describe('OpenAPI', () => {
  it('documents every exec route', async () => {
    const { body } = await t.json<{ paths: Record<string, Record<string, unknown>> }>('GET', '/openapi.json');
    expect(Object.keys(body.paths['/exec'] ?? {}).sort()).toEqual(['delete', 'get', 'post']);
    for (const p of ['/exec/stream', '/exec/{id}', '/exec/{id}/input', '/exec/{id}/stdin/close', '/exec/{id}/signal']) {
      expect(body.paths, p).toHaveProperty([p]);
    }
  });
});
