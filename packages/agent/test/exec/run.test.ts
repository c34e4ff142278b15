import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { alive, until } from './helpers/sse.js';

let t: TestAgent;
beforeAll(async () => {
  t = await startTestAgent();
});
afterAll(async () => {
  await t.json('DELETE', '/exec');
  await t.close();
});

type Task = Record<string, unknown> & { id: string; stdout: string; stderr: string; exit_code: number; status: string };
const run = (body: unknown) => t.json<Task>('POST', '/exec', { body });

describe('POST /exec (synchronous)', () => {
  it('answers the full task object', async () => {
    const { status, body } = await run({ cmd: ['echo', 'hello'] });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      command: ['echo', 'hello'],
      status: 'exited',
      exit_code: 0,
      stdout: 'hello\n',
      stderr: '',
      ttl_seconds: 300,
    });
    expect(body.id).toMatch(/^[0-9a-f]{12}$/);
    expect(body.guest_pid).toEqual(expect.any(Number));
    for (const key of ['created_at', 'started_at', 'exited_at']) {
      expect(new Date(body[key] as string).toISOString()).toBe(body[key]);
    }
    expect(Object.keys(body).slice(0, 7)).toEqual(['id', 'command', 'status', 'guest_pid', 'exit_code', 'stdout', 'stderr']);
  });

  it('reports every exit code from 0 to 255', async () => {
    const codes = Array.from({ length: 256 }, (_, i) => i);
    const seen: number[] = [];
    for (let i = 0; i < codes.length; i += 16) {
      const batch = await Promise.all(codes.slice(i, i + 16).map((c) => run({ cmd: ['sh', '-c', `exit ${c}`] })));
      for (const r of batch) seen.push(r.body.exit_code);
    }
    expect(seen).toEqual(codes);
  });

  it('reports death by a signal as 128+signo with the signal name', async () => {
    const killed = await run({ cmd: ['sh', '-c', 'kill -KILL $$'] });
    expect(killed.body).toMatchObject({ status: 'exited', exit_code: 137, signal: 'SIGKILL' });
    const segv = await run({ cmd: ['sh', '-c', 'kill -SEGV $$'] });
    expect(segv.body).toMatchObject({ exit_code: 139, signal: 'SIGSEGV' });
    const normal = await run({ cmd: ['true'] });
    expect(normal.body).not.toHaveProperty('signal');
  });

  it('keeps stdout and stderr apart', async () => {
    const { body } = await run({ cmd: ['sh', '-c', 'echo out; echo err >&2; echo out2'] });
    expect(body.stdout).toBe('out\nout2\n');
    expect(body.stderr).toBe('err\n');
  });

  it('passes arguments verbatim in direct mode (no shell interpretation)', async () => {
    const { body } = await run({ cmd: ['printf', '%s|', '$HOME', '*', 'a b', ''], exec_mode: 'direct' });
    expect(body.stdout).toBe('$HOME|*|a b||');
  });

  it('auto mode: a single string with metacharacters is a shell line', async () => {
    const { body } = await run({ cmd: 'printf "a\\nb\\nc\\n" | wc -l' });
    expect(body).toMatchObject({ stdout: '3\n', exit_code: 0, command: ['printf "a\\nb\\nc\\n" | wc -l'] });
  });

  it('auto mode: a bare operator argument asks for a shell', async () => {
    const { body } = await run({ cmd: ['echo', 'x', '|', 'tr', 'x', 'y'] });
    expect(body.stdout).toBe('y\n');
  });

  it('auto mode: ["sh","-c","a | b"] runs as given', async () => {
    const { body } = await run({ cmd: ['sh', '-c', 'echo abc | tr a-c A-C'] });
    expect(body.stdout).toBe('ABC\n');
  });

  it('direct mode splits a single string respecting quotes', async () => {
    const { body } = await run({ cmd: `printf '%s|' "a b" 'c d' e\\ f`, exec_mode: 'direct' });
    expect(body.stdout).toBe('a b|c d|e f|');
  });

  it('shell mode joins the arguments and runs /bin/sh -c', async () => {
    const { body } = await run({ cmd: ['echo', '$((6*7))'], exec_mode: 'shell' });
    expect(body.stdout).toBe('42\n');
  });

  it('a missing binary is 500 failed_to_start in direct mode, and the task is listed as failed', async () => {
    const { status, body } = await run({ cmd: ['/no/such/binary-xyz', 'a'] });
    expect(status).toBe(500);
    expect(body).toMatchObject({ success: false, code: 'failed_to_start' });
    expect(String(body.error)).toMatch(/^failed to start process/);
    const list = await t.json<{ tasks: Task[] }>('GET', '/exec');
    const failed = list.body.tasks.find((x) => (x.command as string[])[0] === '/no/such/binary-xyz');
    expect(failed).toMatchObject({ status: 'failed', error: 'failed to start process: ENOENT' });
    expect(failed).not.toHaveProperty('guest_pid');
  });

  it('a missing binary exits 127 in shell mode', async () => {
    const { status, body } = await run({ cmd: ['no-such-binary-xyz'], exec_mode: 'shell' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'exited', exit_code: 127 });
    expect(body.stderr).toContain('not found');
  });

  it('a non-executable file is failed_to_start (EACCES)', async () => {
    await t.json('POST', '/exec', { body: { cmd: ['sh', '-c', 'printf "x" > plain.txt'] } });
    const { status, body } = await run({ cmd: ['./plain.txt'] });
    expect(status).toBe(500);
    expect(body).toMatchObject({ code: 'failed_to_start' });
    expect(String(body.error)).toContain('EACCES');
  });

  it("runs in the agent's workdir by default and in cwd when given", async () => {
    expect((await run({ cmd: ['pwd'] })).body.stdout).toBe(`${t.workdir}\n`);
    await mkdir(path.join(t.workdir, 'sub'));
    expect((await run({ cmd: ['pwd'], cwd: 'sub' })).body).toMatchObject({ stdout: `${t.workdir}/sub\n`, cwd: `${t.workdir}/sub` });
    expect((await run({ cmd: ['pwd'], cwd: '/' })).body.stdout).toBe('/\n');
  });

  it("merges env over the agent's environment; null removes a variable", async () => {
    process.env.COVE_EXEC_TEST_INHERITED = 'inherited';
    try {
      const { body } = await run({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
        cmd: ['sh', '-c', 'echo "$A|$B|${COVE_EXEC_TEST_INHERITED-unset}|${PATH:+path}"'],
        env: { A: 'one', B: '2', COVE_EXEC_TEST_INHERITED: null },
      });
      expect(body.stdout).toBe('one|2|unset|path\n');
      const inherited = await run({ cmd: ['sh', '-c', 'echo $COVE_EXEC_TEST_INHERITED'] });
      expect(inherited.body.stdout).toBe('inherited\n');
    } finally {
      delete process.env.COVE_EXEC_TEST_INHERITED;
    }
  });

  it('does not hand the agent token to commands', async () => {
    const { body } = await run({ cmd: ['sh', '-c', 'env'] });
    expect(body.stdout).not.toContain(t.token);
  });

  it('a timeout kills the whole process group, the shell child too', async () => {
    const pidFile = path.join(t.workdir, 'sleep.pid');
    const { body } = await run({ cmd: `sleep 300 & echo $! > ${pidFile}; wait`, timeout_seconds: 0.5 });
    expect(body).toMatchObject({ status: 'exited', timed_out: true, signal: 'SIGTERM', exit_code: 143 });
    const sleepPid = Number(await readFile(pidFile, 'utf8'));
    await until(() => !alive(sleepPid), 'the sleep to be gone');
  });

  it('`timeout` is an alias of timeout_seconds', async () => {
    const { body } = await run({ cmd: ['sleep', '30'], timeout: 0.3 });
    expect(body).toMatchObject({ timed_out: true, exit_code: 143 });
  });

  it('a task that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    const { body } = await run({ cmd: "trap '' TERM; sleep 30 & wait; sleep 30", timeout_seconds: 0.2 });
    expect(body).toMatchObject({ timed_out: true, signal: 'SIGKILL', exit_code: 137 });
  });

  it('a task without a timeout is not marked timed_out', async () => {
    const { body } = await run({ cmd: ['true'], timeout_seconds: 0 });
    expect(body).not.toHaveProperty('timed_out');
  });

  it('truncates synchronous output above the cap and says so', async () => {
    const { body } = await run({ cmd: 'head -c 3000000 /dev/zero | tr "\\0" a; echo; echo END' });
    expect(body.stdout_truncated).toBe(true);
    expect(body.stdout.length).toBe(2 * 1024 * 1024);
    expect(body.stdout.endsWith('a\nEND\n')).toBe(true);
  });

  it('ttl_seconds: 0 means the 5-minute default, -1 never expires, N is kept', async () => {
    expect((await run({ cmd: ['true'], ttl_seconds: 0 })).body.ttl_seconds).toBe(300);
    expect((await run({ cmd: ['true'], ttl_seconds: -1 })).body.ttl_seconds).toBe(-1);
    expect((await run({ cmd: ['true'], ttl_seconds: 42 })).body.ttl_seconds).toBe(42);
  });

  it('forgets a task once its TTL has passed', async () => {
    const { body } = await run({ cmd: ['true'], ttl_seconds: 1 });
    expect((await t.json('GET', `/exec/${body.id}`)).status).toBe(200);
    await until(async () => (await t.json('GET', `/exec/${body.id}`)).status === 404, 'the task to expire', 100, 50);
  });

  it('keeps output after exit only with keep_logs, but always answers with it', async () => {
    const kept = await run({ cmd: ['echo', 'kept'], keep_logs: true });
    const dropped = await run({ cmd: ['echo', 'dropped'] });
    expect(kept.body.stdout).toBe('kept\n');
    expect(dropped.body.stdout).toBe('dropped\n');
    const a = await t.json<Task>('GET', `/exec/${kept.body.id}`);
    expect(a.body).toMatchObject({ stdout: 'kept\n', stderr: '', keep_logs: true, exit_code: 0 });
    const b = await t.json<Task>('GET', `/exec/${dropped.body.id}`);
    expect(b.body).toMatchObject({ status: 'exited', exit_code: 0, keep_logs: false });
    expect(b.body).not.toHaveProperty('stdout');
  });

  it('passes tens of thousands of arguments', async () => {
    const args = Array.from({ length: 50_000 }, (_, i) => String(i % 10));
    const { body } = await run({ cmd: ['sh', '-c', 'echo $#', 'sh', ...args] });
    expect(body).toMatchObject({ exit_code: 0, stdout: '50000\n' });
  });

  it('binary output survives as text with replacement characters', async () => {
    const { body } = await run({ cmd: ['printf', '\\377\\376ok'] });
    expect(body.stdout).toBe('\ufffd\ufffdok');
  });
});
