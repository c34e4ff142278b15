import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileCases } from '../../../http/test/hostile-bodies.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

let t: TestAgent;
beforeAll(async () => {
  t = await startTestAgent();
});
afterAll(async () => {
  await t.close();
});

/** Every entry under the workdir with its type and size: what a write, mkdir, move or delete would change. */
async function snapshot(dir = t.workdir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    out.push(`${full} ${entry.isDirectory() ? 'dir' : (await stat(full)).size}`);
    if (entry.isDirectory()) out.push(...(await snapshot(full)));
  }
  return out.sort();
}

/** What the agent tracks: tasks, terminals, watchers. */
async function state(): Promise<unknown> {
  const [exec, terminals, watchers] = await Promise.all([t.json('GET', '/exec'), t.json('GET', '/terminals'), t.json('GET', '/watchers')]);
  return { exec: exec.body, terminals: terminals.body, watchers: watchers.body };
}

const errorBody = { success: false, error: expect.any(String), code: 'bad_request' };

describe('JSON bodies are validated strictly on every route', () => {
  it('refuses every declared property sent with a wrong JSON type, and changes nothing', async () => {
    const doc = (await t.json<Parameters<typeof hostileCases>[0]>('GET', '/openapi.json')).body;
    const cases = hostileCases(doc);
    // The document covers the body routes of every domain (a route missing from it would go untested).
    const routes = new Set(cases.map((c) => `${c.method} ${c.path.replace(/hostile-id/g, ':id')}`));
    for (const route of [
      'POST /files/write',
      'POST /files/mkdir',
      'POST /files/move',
      'POST /files/delete',
      'POST /exec',
      'POST /exec/stream',
    ]) {
      expect(routes, route).toContain(route);
    }
    for (const route of ['POST /exec/:id/signal', 'POST /files/transfer/download', 'POST /terminals', 'POST /watchers']) {
      expect(routes, route).toContain(route);
    }
    expect(cases.length).toBeGreaterThan(100);

    const files = await snapshot();
    const tracked = await state();
    for (const c of cases) {
      const res = await t.json(c.method, c.path, { body: c.body });
      expect(res.status, c.label).toBe(400);
      expect(res.body, c.label).toEqual(errorBody);
    }
    expect(await snapshot()).toEqual(files);
    expect(await state()).toEqual(tracked);
  });

  it('writes nothing for a number or a boolean as file content, or a number as its path', async () => {
    for (const body of [
      { path: 'n.txt', content: 12345 },
      { path: 'b.txt', content: true },
      { path: 'o.txt', content: { text: 'x' } },
      { path: 42, content: 'x' },
      { path: 'c.txt', content: 'x', create_dirs: 'true' },
    ]) {
      const res = await t.json('POST', '/files/write', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toEqual(errorBody);
    }
    expect(await snapshot()).toEqual([]);
  });

  it('names the parameter and the expected type', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/files/write', { path: 'x', content: 12345 }, "invalid parameter 'content': must be string"],
      ['POST', '/files/write', { path: 'x', content: 'x', append: 1 }, "invalid parameter 'append': must be boolean"],
      ['POST', '/watchers', { path: 42 }, "invalid parameter 'path': must be string"],
      ['POST', '/watchers', { path: '.', excludes: '*.log' }, "invalid parameter 'excludes': must be array"],
      ['POST', '/exec', { cmd: 5 }, "invalid parameter 'cmd': must be array or string"],
      ['POST', '/exec', { cmd: ['echo', 1] }, "invalid parameter 'cmd[1]': must be string"],
      ['POST', '/exec', { cmd: ['true'], timeout_seconds: '5' }, "invalid parameter 'timeout_seconds': must be number"],
      ['POST', '/exec/stream', { cmd: ['true'], env: { A: 1 } }, "invalid parameter 'env.A': must be string or null"],
      ['POST', '/files/delete', { path: 7 }, "invalid parameter 'path': must be string"],
      ['POST', '/files/transfer/download', { paths: 'a' }, "invalid parameter 'paths': must be array"],
    ];
    for (const [method, route, body, error] of cases) {
      const res = await t.json(method, route, { body });
      expect(res.status, `${route} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body).toEqual({ success: false, error, code: 'bad_request' });
    }
    expect((await t.json('GET', '/watchers')).body).toEqual({ success: true, watchers: [] });
    expect((await t.json('GET', '/exec')).body).toEqual({ success: true, tasks: [] });
  });

  it('still takes a single string as cmd (documented), and an empty JSON body as {}', async () => {
    const run = await t.json('POST', '/exec', { body: { cmd: 'echo one' } });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ stdout: 'one\n', exit_code: 0 });
    // The official SDK's bodiless POST: `Content-Type: application/json` and no bytes.
    const created = await t.json<{ id: string }>('POST', '/terminals', { body: '', headers: { 'content-type': 'application/json' } });
    expect(created.status).toBe(201);
    expect((await t.json('DELETE', `/terminals/${created.body.id}`)).status).toBe(200);
    expect((await t.json('DELETE', '/exec')).status).toBe(200);
  });
});

describe('query strings keep their documented coercion', () => {
  it('reads numbers and 1/0/yes/no/true/false booleans from text', async () => {
    await t.json('POST', '/files/write', { body: { path: 'q.txt', content: 'a\nb\nc\n' } });
    for (const flag of ['1', 'yes', 'true']) {
      const res = await t.json('GET', `/files/read?path=q.txt&start_line=2&end_line=3&with_line_numbers=${flag}`);
      expect(res.status, flag).toBe(200);
      expect(res.body).toMatchObject({ content: '2\tb\n3\tc\n', start_line: 2, end_line: 3 });
    }
    for (const flag of ['0', 'no', 'false']) {
      const res = await t.json('GET', `/files/read?path=q.txt&start_line=2&with_line_numbers=${flag}`);
      expect(res.body, flag).toMatchObject({ content: 'b\nc\n' });
    }
    const bad = await t.json('GET', '/files/read?path=q.txt&start_line=two');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ success: false, error: "invalid parameter 'start_line': must be integer", code: 'bad_request' });
  });
});
