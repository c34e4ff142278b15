import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSearchDomain } from '../../src/search/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { processAlive, qs, writeTree } from './helpers.js';

let t: TestAgent;
let dir: string;
const pids: number[] = [];
const exits = new Map<number, { code: number | null; signal: string | null }>();

beforeAll(async () => {
  t = await startTestAgent({
    domains: [
      createSearchDomain({
        onSpawn: (pid) => pids.push(pid),
        onExit: (pid, code, signal) => exits.set(pid, { code, signal }),
      }),
    ],
  });
  dir = path.join(t.workdir, 'd');
  await writeTree(dir, { 'a.txt': 'alpha\nbeta (gamma)\n', 'f.txt': 'x\n' });
});

afterAll(async () => {
  await t.close();
});

function get(params: Record<string, string | number | boolean | undefined>) {
  return t.json<{ success: boolean; error?: string; code?: string; total_matches?: number; capped?: boolean }>(
    'GET',
    `/files/search${qs(params)}`,
  );
}

async function expect400(params: Record<string, string | number | boolean | undefined>, param: string) {
  const { status, body } = await get(params);
  expect(status, JSON.stringify(params).slice(0, 200)).toBe(400);
  expect(body.success).toBe(false);
  expect(body.code).toBe('bad_request');
  expect(body.error).toContain(`'${param}'`);
}

describe('parameter validation (400 naming the parameter)', () => {
  it('requires q', async () => {
    const { status, body } = await t.json('GET', `/files/search${qs({ path: dir })}`);
    expect(status).toBe(400);
    expect(body).toEqual({ success: false, error: "missing required parameter 'q'", code: 'bad_request' });
    await expect400({ q: '', path: dir }, 'q');
  });

  it('limits q to 1000 characters', async () => {
    await expect400({ q: 'a'.repeat(1001), path: dir }, 'q');
    const ok = await get({ q: 'a'.repeat(1000), path: dir });
    expect(ok.status).toBe(200);
    expect(ok.body.total_matches).toBe(0);
  });

  it('refuses NUL bytes and line breaks in q', async () => {
    await expect400({ q: 'al\0pha', path: dir }, 'q');
    await expect400({ q: 'alpha\nbeta', path: dir }, 'q');
    await expect400({ q: 'alpha\r', path: dir }, 'q');
  });

  it('bounds context_lines to 0..10', async () => {
    await expect400({ q: 'alpha', path: dir, context_lines: 11 }, 'context_lines');
    await expect400({ q: 'alpha', path: dir, context_lines: -1 }, 'context_lines');
    await expect400({ q: 'alpha', path: dir, context_lines: 'two' }, 'context_lines');
    await expect400({ q: 'alpha', path: dir, context_lines: 1.5 }, 'context_lines');
    expect((await get({ q: 'alpha', path: dir, context_lines: 10 })).status).toBe(200);
  });

  it('wants a positive integer max_results', async () => {
    for (const v of [0, -5, 2.5, 'lots', '1e400']) await expect400({ q: 'alpha', path: dir, max_results: v }, 'max_results');
  });

  it('bounds timeout to (0, 60] seconds', async () => {
    for (const v of [61, 0, -1, 'soon']) await expect400({ q: 'alpha', path: dir, timeout: v }, 'timeout');
    expect((await get({ q: 'alpha', path: dir, timeout: 60 })).status).toBe(200);
  });

  it('wants booleans for the flags', async () => {
    for (const flag of ['case_sensitive', 'regex', 'whole_word', 'include_hidden', 'no_gitignore']) {
      await expect400({ q: 'alpha', path: dir, [flag]: 'maybe' }, flag);
    }
  });

  it('refuses file_types that are not extensions', async () => {
    await expect400({ q: 'alpha', path: dir, file_types: 'js,../etc' }, 'file_types');
    await expect400({ q: 'alpha', path: dir, file_types: 'a/b' }, 'file_types');
    await expect400({ q: 'alpha', path: dir, file_types: Array.from({ length: 300 }, (_, i) => `e${i}`).join(',') }, 'file_types');
  });

  it('refuses an ignore pattern rg cannot parse', async () => {
    await expect400({ q: 'alpha', path: dir, ignore_patterns: 'ok,{unclosed' }, 'ignore_patterns');
  });

  it('refuses an invalid regex, naming q', async () => {
    const { status, body } = await get({ q: 'beta (', path: dir, regex: true });
    expect(status).toBe(400);
    expect(body.code).toBe('bad_request');
    expect(body.error).toMatch(/^invalid parameter 'q': not a valid regular expression: /);
    // The same text is fine as a literal.
    const literal = await get({ q: 'beta (', path: dir });
    expect(literal.status).toBe(200);
    expect(literal.body.total_matches).toBe(1);
  });

  it('refuses a bad path', async () => {
    await expect400({ q: 'alpha', path: `${dir}/\0x` }, 'path');
    await expect400({ q: 'alpha', path: `/${'a'.repeat(5000)}` }, 'path');
    const under = await get({ q: 'alpha', path: `${dir}/f.txt/inside` });
    expect(under.status).toBe(400);
  });
});

describe('status codes', () => {
  it('answers 404 for a missing path', async () => {
    const { status, body } = await get({ q: 'alpha', path: `${dir}/nope` });
    expect(status).toBe(404);
    expect(body).toEqual({ success: false, error: `not found: ${dir}/nope`, code: 'not_found' });
  });

  it('answers 401 without a token and 405 for other methods', async () => {
    const res = await fetch(`${t.url}/files/search?q=alpha`);
    expect(res.status).toBe(401);
    const del = await t.json('DELETE', `/files/search${qs({ q: 'alpha' })}`);
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET');
  });

  it('answers 503 ripgrep_not_installed when no rg is found', async () => {
    const bare = await startTestAgent({ domains: [createSearchDomain({ rgCandidates: () => [path.join(dir, 'no-rg-here')] })] });
    try {
      const { status, body } = await bare.json('GET', `/files/search${qs({ q: 'alpha', path: dir })}`);
      expect(status).toBe(503);
      expect(body).toEqual({
        success: false,
        error: 'ripgrep is not installed - use POST /files/search/init to install',
        code: 'ripgrep_not_installed',
      });
    } finally {
      await bare.close();
    }
  });
});

describe('timeouts and stopping rg', () => {
  it('answers 504 search_timeout when rg blocks, and kills rg', async () => {
    const fifo = path.join(t.workdir, 'blocked.fifo');
    execFileSync('mkfifo', [fifo]);
    const before = pids.length;
    const { status, body } = await get({ q: 'alpha', path: fifo, timeout: 1 });
    expect(status).toBe(504);
    expect(body).toEqual({ success: false, error: 'search timed out after 1 s', code: 'search_timeout' });
    const pid = pids[before];
    expect(pid).toBeTypeOf('number');
    expect(processAlive(pid as number)).toBe(false);
    // The server is still up.
    expect((await get({ q: 'alpha', path: dir })).status).toBe(200);
  });

  it('kills rg as soon as max_results is exceeded', async () => {
    // rg would print ~19 MB of JSON here: far more than a pipe holds, so it
    // cannot have finished by itself when the answer comes.
    const big = path.join(t.workdir, 'big');
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`f${i}.txt`] = 'match me\n'.repeat(5000);
    await writeTree(big, files);
    const before = pids.length;
    const { status, body } = await get({ q: 'match', path: big, max_results: 5 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ total_matches: 5, capped: true });
    const pid = pids[before] as number;
    expect(exits.get(pid)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(processAlive(pid)).toBe(false);
  });

  it('kills rg when the client goes away', async () => {
    const fifo = path.join(t.workdir, 'abandoned.fifo');
    execFileSync('mkfifo', [fifo]);
    const before = pids.length;
    const ac = new AbortController();
    const pending = fetch(`${t.url}/files/search${qs({ q: 'x', path: fifo, timeout: 60 })}`, {
      headers: { authorization: `Bearer ${t.token}` },
      signal: ac.signal,
    }).catch((err: Error) => err);
    await vi.waitFor(() => expect(pids.length).toBeGreaterThan(before), { timeout: 10_000 });
    ac.abort();
    await pending;
    const pid = pids[before] as number;
    await vi.waitFor(() => expect(processAlive(pid)).toBe(false), { timeout: 10_000 });
  });

  it('kills running searches when the agent closes', async () => {
    const local: number[] = [];
    const other = await startTestAgent({ domains: [createSearchDomain({ onSpawn: (pid) => local.push(pid) })] });
    const fifo = path.join(other.workdir, 'closing.fifo');
    execFileSync('mkfifo', [fifo]);
    const pending = other.request('GET', `/files/search${qs({ q: 'x', path: fifo, timeout: 60 })}`).catch((err: Error) => err);
    await vi.waitFor(() => expect(local.length).toBe(1), { timeout: 10_000 });
    await other.close();
    await pending;
    expect(processAlive(local[0] as number)).toBe(false);
  });

  it('leaves no rg process behind', async () => {
    // An answer can go out once rg's output ended with its summary, a moment before rg itself is gone.
    await vi.waitFor(() => expect(pids.filter(processAlive)).toEqual([]), { timeout: 5000 });
  });
});
