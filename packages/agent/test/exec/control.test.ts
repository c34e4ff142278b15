import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecDomain } from '../../src/exec/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { alive, decoded, openSse, type SseEvent, SseParser, until } from './helpers/sse.js';

let t: TestAgent;
beforeAll(async () => {
  t = await startTestAgent({ domains: [createExecDomain({ killGraceMs: 500 })] });
});
afterAll(async () => {
  await t.json('DELETE', '/exec');
  await t.close();
});

/** Starts a streaming task and returns its id and a promise of all its events. */
async function startStreaming(
  a: TestAgent,
  body: Record<string, unknown>,
): Promise<{ id: string; events: Promise<SseEvent[]>; res: IncomingMessage }> {
  const res = await openSse(a.url, a.token, 'POST', '/exec/stream', body);
  const parser = new SseParser();
  res.setEncoding('utf8');
  let gotId: (id: string) => void = () => {};
  const id = new Promise<string>((resolve) => {
    gotId = resolve;
  });
  const events = new Promise<SseEvent[]>((resolve, reject) => {
    res.on('data', (text: string) => {
      for (const ev of parser.push(text)) if (ev.event === 'task_id') gotId(String(ev.data.task_id));
    });
    res.on('end', () => resolve(parser.events));
    res.on('error', reject);
  });
  return { id: await id, events, res };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('stdin', () => {
  it('round-trips binary data through cat (every byte value)', async () => {
    const data = Buffer.alloc(256 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
    const task = await startStreaming(t, { cmd: ['cat'] });
    const first = await t.json('POST', `/exec/${task.id}/input`, {
      body: data.subarray(0, 100_000),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(first.body).toEqual({ success: true, bytes_written: 100_000 });
    const last = await t.json('POST', `/exec/${task.id}/input?eof=true`, {
      body: data.subarray(100_000),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(last.body).toEqual({ success: true, bytes_written: data.length - 100_000, stdin_closed: true });
    const events = await task.events;
    expect(sha(decoded(events, 'stdout'))).toBe(sha(data));
    expect(events.at(-1)?.data).toMatchObject({ exit_code: 0 });
  });

  it("takes curl's default form content type, no content type and text as raw bytes", async () => {
    const task = await startStreaming(t, { cmd: ['cat'] });
    const form = await t.json('POST', `/exec/${task.id}/input`, {
      body: 'yes\n',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.body).toEqual({ success: true, bytes_written: 4 });
    const json = await t.json('POST', `/exec/${task.id}/input`, { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(json.body).toEqual({ success: true, bytes_written: 7 });
    const bare = await fetch(`${t.url}/exec/${task.id}/input`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}` },
      body: new Uint8Array([0, 1, 2]),
    });
    expect(await bare.json()).toEqual({ success: true, bytes_written: 3 });
    const empty = await t.json('POST', `/exec/${task.id}/input`);
    expect(empty.body).toEqual({ success: true, bytes_written: 0 });
    const close = await t.json('POST', `/exec/${task.id}/stdin/close`);
    expect(close.body).toEqual({ success: true });
    const events = await task.events;
    expect(decoded(events, 'stdout')).toEqual(Buffer.concat([Buffer.from('yes\n{"a":1}'), Buffer.from([0, 1, 2])]));
    expect(events.at(-1)?.data).toMatchObject({ exit_code: 0 });
  });

  it('input after stdin was closed is 409', async () => {
    const task = await startStreaming(t, { cmd: 'cat >/dev/null; sleep 5' });
    await t.json('POST', `/exec/${task.id}/stdin/close`);
    const res = await t.json('POST', `/exec/${task.id}/input`, { body: 'x', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'task_not_running' });
    await t.json('DELETE', `/exec/${task.id}`);
    await task.events;
  });
});

describe('signals and kill', () => {
  it('sends a chosen signal to the process group', async () => {
    const task = await startStreaming(t, { cmd: 'trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 0.05; done' });
    await until(async () => {
      const r = await t.json<{ stdout: string }>('GET', `/exec/${task.id}`);
      return r.body.stdout === 'ready\n';
    }, 'the trap to be set');
    const res = await t.json('POST', `/exec/${task.id}/signal`, { body: { signal: 'int' } });
    expect(res.body).toEqual({ success: true, signal: 'SIGINT' });
    const events = await task.events;
    expect(decoded(events, 'stdout').toString()).toBe('ready\ngot-int\n');
    expect(events.at(-1)?.data).toMatchObject({ exit_code: 7 });
  });

  it('accepts signal numbers', async () => {
    const task = await startStreaming(t, { cmd: ['sleep', '30'] });
    const res = await t.json('POST', `/exec/${task.id}/signal`, { body: { signal: 9 } });
    expect(res.body).toEqual({ success: true, signal: 'SIGKILL' });
    expect((await task.events).at(-1)?.data).toMatchObject({ exit_code: 137, signal: 'SIGKILL' });
  });

  it('DELETE /exec/:id kills the whole group, closes stdin and stops tracking', async () => {
    const task = await startStreaming(t, { cmd: 'sleep 300 & echo $!; wait' });
    const pid = await until(async () => Number((await t.json<{ stdout: string }>('GET', `/exec/${task.id}`)).body.stdout), 'the child pid');
    expect(alive(pid)).toBe(true);
    const del = await t.json('DELETE', `/exec/${task.id}`);
    expect(del).toMatchObject({ status: 200, body: { success: true } });
    expect((await t.json('GET', `/exec/${task.id}`)).status).toBe(404);
    const events = await task.events;
    expect(events.at(-1)?.data).toMatchObject({ exit_code: 143, signal: 'SIGTERM' });
    await until(() => !alive(pid), 'the background child to die');
  });

  it('DELETE /exec kills and forgets every task', async () => {
    await t.json('DELETE', '/exec');
    const a = await startStreaming(t, { cmd: ['sleep', '300'] });
    const b = await startStreaming(t, { cmd: ['sleep', '300'] });
    await t.json('POST', '/exec', { body: { cmd: ['true'] } });
    const res = await t.json('DELETE', '/exec');
    expect(res.body).toEqual({ success: true, deleted: 3 });
    expect((await t.json<{ tasks: unknown[] }>('GET', '/exec')).body).toEqual({ success: true, tasks: [] });
    for (const task of [a, b]) expect((await task.events).at(-1)?.data).toMatchObject({ signal: 'SIGTERM' });
  });
});

describe('listing', () => {
  it('GET /exec lists tasks without their output; GET /exec/:id shows running output', async () => {
    const task = await startStreaming(t, { cmd: 'echo partial; sleep 30' });
    await until(async () => (await t.json<{ stdout: string }>('GET', `/exec/${task.id}`)).body.stdout === 'partial\n', 'output');
    const list = await t.json<{ success: boolean; tasks: Array<Record<string, unknown>> }>('GET', '/exec');
    const item = list.body.tasks.find((x) => x.id === task.id);
    expect(item).toMatchObject({ id: task.id, command: ['echo partial; sleep 30'], status: 'running', ttl_seconds: 300 });
    expect(item).not.toHaveProperty('stdout');
    expect(item).not.toHaveProperty('exit_code');
    await t.json('DELETE', `/exec/${task.id}`);
    await task.events;
  });
});

describe('limits', () => {
  it('the 51st running task is 429 too_many_tasks; slots free up when tasks exit', async () => {
    const a = await startTestAgent({ domains: [createExecDomain({ killGraceMs: 200 })] });
    try {
      const tasks = await Promise.all(Array.from({ length: 50 }, () => startStreaming(a, { cmd: ['sleep', '300'] })));
      const over = await a.json('POST', '/exec', { body: { cmd: ['true'] } });
      expect(over.status).toBe(429);
      expect(over.body).toMatchObject({ success: false, code: 'too_many_tasks' });
      const overStream = await a.request('POST', '/exec/stream', { body: { cmd: ['true'] } });
      expect(overStream.status).toBe(429);
      await overStream.text();
      await a.json('DELETE', `/exec/${tasks[0]?.id}`);
      await tasks[0]?.events;
      expect((await a.json('POST', '/exec', { body: { cmd: ['true'] } })).status).toBe(200);
      await a.json('DELETE', '/exec');
      await Promise.all(tasks.map((x) => x.events));
    } finally {
      await a.close();
    }
  });

  it("survives a fork bomb's worth of short tasks", async () => {
    const a = await startTestAgent({ domains: [createExecDomain({ maxFinished: 100 })] });
    try {
      const statuses = await Promise.all(
        Array.from({ length: 400 }, async (_, i) => {
          const r = await a.json<{ stdout?: string }>('POST', '/exec', { body: { cmd: ['echo', String(i)] } });
          if (r.status === 200) expect(r.body.stdout).toBe(`${i}\n`);
          return r.status;
        }),
      );
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
      const list = await a.json<{ tasks: unknown[] }>('GET', '/exec');
      expect(list.body.tasks.length).toBeLessThanOrEqual(100);
      expect((await a.json('POST', '/exec', { body: { cmd: ['echo', 'still up'] } })).body).toMatchObject({ stdout: 'still up\n' });
    } finally {
      await a.close();
    }
  });

  it('kills running tasks when the agent closes', async () => {
    const a = await startTestAgent();
    const task = await startStreaming(a, { cmd: ['sleep', '300'] });
    const pid = Number((await a.json<{ guest_pid: number }>('GET', `/exec/${task.id}`)).body.guest_pid);
    task.res.destroy();
    await a.close();
    await until(() => !alive(pid), 'the task to be killed');
  });
});

describe('spawning from the agent itself (no spawn helper)', () => {
  it('runs, streams, fails to start and kills the same way', async () => {
    const a = await startTestAgent({ domains: [createExecDomain({ spawner: 'node', killGraceMs: 200 })] });
    try {
      expect((await a.json('POST', '/exec', { body: { cmd: 'echo hi; exit 3' } })).body).toMatchObject({ stdout: 'hi\n', exit_code: 3 });
      const missing = await a.json('POST', '/exec', { body: { cmd: ['/no/such/bin'] } });
      expect(missing).toMatchObject({ status: 500, body: { code: 'failed_to_start' } });
      const task = await startStreaming(a, { cmd: ['cat'] });
      await a.json('POST', `/exec/${task.id}/input?eof=true`, { body: 'abc', headers: { 'content-type': 'application/octet-stream' } });
      const events = await task.events;
      expect(decoded(events, 'stdout').toString()).toBe('abc');
      const sleeper = await startStreaming(a, { cmd: ['sleep', '300'] });
      await a.json('DELETE', `/exec/${sleeper.id}`);
      expect((await sleeper.events).at(-1)?.data).toMatchObject({ signal: 'SIGTERM' });
    } finally {
      await a.close();
    }
  });
});
