import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTerminalsDomain } from '../../src/terminals/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

interface Info {
  id: string;
  command: string[];
  cols: number;
  rows: number;
  alive: boolean;
  exit_code: number;
  created_at: string;
  scrollback_size: number;
}

let t: TestAgent;
beforeAll(async () => {
  t = await startTestAgent({ domains: [createTerminalsDomain({ killGraceMs: 500 })] });
});
afterAll(async () => {
  await t.close();
});
afterEach(async () => {
  // Every test starts with no sessions.
  const { body } = await t.json<{ terminals: Info[] }>('GET', '/terminals');
  for (const s of body.terminals) await t.json('DELETE', `/terminals/${s.id}`);
});

async function create(body: unknown) {
  return t.json<Info & { success: boolean }>('POST', '/terminals', { body });
}

async function waitExited(id: string): Promise<Info> {
  for (;;) {
    const { body } = await t.json<{ terminals: Info[] }>('GET', '/terminals');
    const s = body.terminals.find((x) => x.id === id);
    if (s && !s.alive) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function scrollback(id: string, query = '') {
  return t.json<{ success: boolean; scrollback: string; size: number; alive: boolean; exit_code: number }>(
    'GET',
    `/terminals/${id}/scrollback${query}`,
  );
}

describe('POST /terminals', () => {
  it('creates a session with the given command and size (201)', async () => {
    const { status, body } = await create({ cmd: ['/bin/bash'], cols: 120, rows: 40 });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      success: true,
      command: ['/bin/bash'],
      cols: 120,
      rows: 40,
      alive: true,
      exit_code: 0,
      scrollback_size: 65536,
    });
    expect(body.id).toMatch(/^[1-9][0-9]*$/);
    expect(Number.isNaN(Date.parse(body.created_at))).toBe(false);
  });

  it('accepts `command` as an alias of `cmd`, and defaults to the user shell at 80x24', async () => {
    const alias = await create({ command: ['sh'] });
    expect(alias.status).toBe(201);
    expect(alias.body.command).toEqual(['sh']);
    const dflt = await create({});
    expect(dflt.status).toBe(201);
    expect(dflt.body).toMatchObject({ cols: 80, rows: 24 });
    expect(dflt.body.command).toHaveLength(1);
    expect(dflt.body.command[0]).toMatch(/^\//);
  });

  it('treats an empty JSON body (what the official SDK sends) as defaults', async () => {
    const res = await t.request('POST', '/terminals', { headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(201);
  });

  it('runs in the workdir with TERM=xterm-256color, or in `cwd` with extra `env`', async () => {
    const a = await create({ cmd: ['sh', '-c', 'printf "%s|%s" "$PWD" "$TERM"'] });
    await waitExited(a.body.id);
    expect(Buffer.from((await scrollback(a.body.id)).body.scrollback, 'base64').toString()).toBe(`${t.workdir}|xterm-256color`);
    const b = await create({ cmd: ['sh', '-c', 'printf "%s|%s" "$PWD" "$GREETING"'], cwd: '/tmp', env: { GREETING: 'hi' } });
    await waitExited(b.body.id);
    expect(Buffer.from((await scrollback(b.body.id)).body.scrollback, 'base64').toString()).toBe('/tmp|hi');
  });

  it.each([
    [{ cols: 0 }, "invalid parameter 'cols'"],
    [{ cols: 100000 }, "invalid parameter 'cols'"],
    [{ rows: -1 }, "invalid parameter 'rows'"],
    [{ rows: 1.5 }, "invalid parameter 'rows'"],
    [{ cols: 'wide' }, "invalid parameter 'cols'"],
    [{ cmd: [{}] }, "invalid parameter 'cmd[0]'"],
    // A JSON body is not coerced: a string is not an argv list.
    [{ cmd: 'x'.repeat(70000) }, "invalid parameter 'cmd': must be array"],
    [{ cmd: ['x'.repeat(70000)] }, "invalid parameter 'cmd[0]'"],
    [{ cmd: [''] }, "invalid parameter 'cmd[0]'"],
    [{ cmd: ['sh\u0000x'] }, "invalid parameter 'cmd[0]'"],
    [{ command: { a: 1 } }, "invalid parameter 'command'"],
    [{ scrollback_size: 10 }, "invalid parameter 'scrollback_size'"],
    [{ scrollback_size: 2 ** 40 }, "invalid parameter 'scrollback_size'"],
    [{ cwd: '/no/such/dir' }, "invalid parameter 'cwd'"],
    [{ cwd: '/etc/passwd' }, "invalid parameter 'cwd'"],
    [{ env: { A: {} } }, "invalid parameter 'env.A'"],
    [{ env: { 'A=B': 'x' } }, "invalid parameter 'env.A=B'"],
  ])('refuses %j with 400', async (body, message) => {
    const { status, body: err } = await t.json<{ error: string; code: string; success: boolean }>('POST', '/terminals', { body });
    expect(status).toBe(400);
    expect(err.success).toBe(false);
    expect(err.code).toBe('bad_request');
    expect(err.error).toContain(message);
  });

  it('refuses malformed JSON with 400', async () => {
    const res = await t.request('POST', '/terminals', { body: '{"cmd": [', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ success: false });
  });

  it('answers an unknown program with 500 failed_to_start and creates nothing', async () => {
    const { status, body } = await t.json('POST', '/terminals', { body: { cmd: ['/no/such/binary'] } });
    expect(status).toBe(500);
    expect(body).toEqual({
      success: false,
      code: 'failed_to_start',
      error: 'failed to create PTY session: command not found: /no/such/binary',
    });
    const other = await t.json('POST', '/terminals', { body: { cmd: ['no-such-program-xyz'] } });
    expect(other.status).toBe(500);
    const list = await t.json<{ terminals: Info[] }>('GET', '/terminals');
    expect(list.body.terminals).toEqual([]);
  });

  it('allows 10 live sessions; the 11th is 429 too_many_terminals; exited ones do not count', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { status, body } = await create({ cmd: ['sleep', '60'] });
      expect(status).toBe(201);
      ids.push(body.id);
    }
    const over = await t.json('POST', '/terminals', { body: { cmd: ['sleep', '60'] } });
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ success: false, code: 'too_many_terminals' });
    // One exits by itself: room for one more, while the exited one stays listed.
    await t.json('DELETE', `/terminals/${ids[0]}`);
    const quick = await create({ cmd: ['true'] });
    expect(quick.status).toBe(201);
    await waitExited(quick.body.id);
    expect((await create({ cmd: ['sleep', '60'] })).status).toBe(201);
  });
});

describe('ids', () => {
  it('are decimal strings of bytes, handed out cycling past ids in use', async () => {
    const a = await create({ cmd: ['sleep', '60'] });
    const b = await create({ cmd: ['sleep', '60'] });
    expect(Number(b.body.id)).toBe((Number(a.body.id) % 255) + 1);
    await t.json('DELETE', `/terminals/${a.body.id}`);
    // The freed id is not reused at once: allocation goes on from the last one given.
    const c = await create({ cmd: ['sleep', '60'] });
    expect(Number(c.body.id)).toBe((Number(b.body.id) % 255) + 1);
  });
});

describe('GET /terminals', () => {
  it('lists live and exited sessions with their exit codes', async () => {
    const live = await create({ cmd: ['sleep', '60'], cols: 100, rows: 30 });
    const done = await create({ cmd: ['sh', '-c', 'exit 3'] });
    await waitExited(done.body.id);
    const { status, body } = await t.json<{ success: boolean; terminals: Info[] }>('GET', '/terminals');
    expect(status).toBe(200);
    expect(body.success).toBe(true);
    const byId = new Map(body.terminals.map((s) => [s.id, s]));
    expect(byId.get(live.body.id)).toMatchObject({
      command: ['sleep', '60'],
      cols: 100,
      rows: 30,
      alive: true,
      exit_code: 0,
      scrollback_size: 65536,
    });
    expect(byId.get(done.body.id)).toMatchObject({ alive: false, exit_code: 3 });
  });

  it('reports 128+N for a process killed by signal N', async () => {
    const s = await create({ cmd: ['sh', '-c', 'kill -9 $$'] });
    expect((await waitExited(s.body.id)).exit_code).toBe(137);
  });
});

describe('DELETE /terminals/:id', () => {
  it('kills the process and forgets the session', async () => {
    const s = await create({ cmd: ['sleep', '60'] });
    const pid = (s.body as unknown as { pid: number }).pid;
    const { status, body } = await t.json('DELETE', `/terminals/${s.body.id}`);
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, terminal_id: s.body.id });
    const list = await t.json<{ terminals: Info[] }>('GET', '/terminals');
    expect(list.body.terminals.map((x) => x.id)).not.toContain(s.body.id);
    // The process is gone (SIGHUP, SIGKILL after the grace period).
    for (;;) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await t.json('DELETE', `/terminals/${s.body.id}`)).status).toBe(404);
  });

  it('answers 404 for unknown ids and 400 without an id', async () => {
    for (const id of ['9', '0', '256', 'abc', '01', '%2e%2e', '-1', '1.0']) {
      const { status, body } = await t.json('DELETE', `/terminals/${id}`);
      expect(status, id).toBe(404);
      expect(body).toMatchObject({ success: false, code: 'not_found' });
    }
    const none = await t.json('DELETE', '/terminals');
    expect(none.status).toBe(400);
    expect(none.body).toEqual({ success: false, code: 'bad_request', error: 'missing terminal ID' });
  });
});

describe('GET /terminals/:id/scrollback', () => {
  it('returns the output base64 with size, alive and exit_code; bytes=N gives the last N', async () => {
    const s = await create({ cmd: ['sh', '-c', 'printf abcdefghij; exit 2'] });
    await waitExited(s.body.id);
    const all = await scrollback(s.body.id);
    expect(all.status).toBe(200);
    expect(all.body).toEqual({
      success: true,
      scrollback: Buffer.from('abcdefghij').toString('base64'),
      size: 10,
      alive: false,
      exit_code: 2,
    });
    const last = await scrollback(s.body.id, '?bytes=4');
    expect(last.body).toMatchObject({ scrollback: Buffer.from('ghij').toString('base64'), size: 4 });
    const more = await scrollback(s.body.id, '?bytes=1000000');
    expect(more.body.size).toBe(10);
    const zero = await scrollback(s.body.id, '?bytes=0');
    expect(zero.body).toMatchObject({ scrollback: '', size: 0 });
  });

  it('keeps only the last scrollback_size bytes of output', async () => {
    const s = await create({ cmd: ['sh', '-c', 'head -c 5000 /dev/zero | tr "\\0" a; printf END'], scrollback_size: 1024 });
    expect(s.body.scrollback_size).toBe(1024);
    await waitExited(s.body.id);
    const { body } = await scrollback(s.body.id);
    expect(body.size).toBe(1024);
    const text = Buffer.from(body.scrollback, 'base64').toString();
    expect(text.slice(-10)).toBe('aaaaaaaEND');
  });

  it('refuses a bad bytes value with 400 and unknown ids with 404', async () => {
    const s = await create({ cmd: ['sleep', '60'] });
    for (const q of ['?bytes=-1', '?bytes=abc', '?bytes=1.5']) {
      const { status, body } = await scrollback(s.body.id, q);
      expect(status, q).toBe(400);
      expect(body).toMatchObject({ success: false, code: 'bad_request' });
      expect((body as unknown as { error: string }).error).toContain("'bytes'");
    }
    expect((await scrollback('77')).status).toBe(404);
  });
});

describe('expiry', () => {
  it('forgets an exited session after its time-to-live', async () => {
    const short = await startTestAgent({ domains: [createTerminalsDomain({ exitedTtlMs: 50 })] });
    try {
      const { body } = await short.json<Info>('POST', '/terminals', { body: { cmd: ['true'] } });
      for (;;) {
        const list = await short.json<{ terminals: Info[] }>('GET', '/terminals');
        if (!list.body.terminals.some((x) => x.id === body.id)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await short.json('GET', `/terminals/${body.id}/scrollback`)).status).toBe(404);
    } finally {
      await short.close();
    }
  });
});
