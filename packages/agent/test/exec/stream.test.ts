import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecDomain } from '../../src/exec/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { decoded, openSse, readSse, type SseEvent, SseParser, until } from './helpers/sse.js';

let t: TestAgent;
beforeAll(async () => {
  t = await startTestAgent({ domains: [createExecDomain({ pingIntervalMs: 100, exitGraceMs: 300 })] });
});
afterAll(async () => {
  await t.json('DELETE', '/exec');
  await t.close();
});

const stream = async (body: unknown, path = '/exec') => readSse(await t.request('POST', path, { body }));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Reads SSE events from a node:http response until `stop` says so. */
function collect(res: IncomingMessage, stop: (ev: SseEvent, all: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const parser = new SseParser();
  return new Promise((resolve, reject) => {
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      for (const ev of parser.push(text)) if (stop(ev, parser.events)) resolve(parser.events);
    });
    res.on('end', () => resolve(parser.events));
    res.on('error', reject);
  });
}

describe('streaming exec (SSE)', () => {
  it('writes exact frames: task_id, base64 output, exit; then closes', async () => {
    const res = await t.request('POST', '/exec', { body: { cmd: ['sh', '-c', 'printf hello; printf oops >&2'], stream: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const { events, raw } = await readSse(res);
    const id = String(events[0]?.data.task_id);
    expect(raw.startsWith(`event: task_id\ndata: {"task_id":"${id}"}\n\n`)).toBe(true);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['task_id', 'stdout', 'stderr', 'exit']));
    expect(decoded(events, 'stdout').toString()).toBe('hello');
    expect(decoded(events, 'stderr').toString()).toBe('oops');
    const exit = events.at(-1) as SseEvent;
    expect(exit.event).toBe('exit');
    expect(exit.data).toMatchObject({ exit_code: 0, status: 'exited' });
    expect(exit.data.pid).toEqual(expect.any(Number));
    expect(raw.endsWith(`event: exit\ndata: ${JSON.stringify(exit.data)}\n\n`)).toBe(true);
  });

  it('POST /exec/stream is the streaming alias (no stream flag needed)', async () => {
    const { events } = await stream({ cmd: ['echo', 'alias'] }, '/exec/stream');
    expect(events[0]?.event).toBe('task_id');
    expect(decoded(events, 'stdout').toString()).toBe('alias\n');
    expect(events.at(-1)?.data).toMatchObject({ exit_code: 0 });
  });

  it('`yes | head -2000` yields exactly 2000 lines', async () => {
    const { events } = await stream({ cmd: 'yes | head -2000', stream: true });
    const text = decoded(events, 'stdout').toString();
    expect(text).toBe('y\n'.repeat(2000));
    const sync = await t.json<{ stdout: string }>('POST', '/exec', { body: { cmd: 'yes | head -2000' } });
    expect(sync.body.stdout.split('\n').length - 1).toBe(2000);
  });

  it('stderr written after stdout closes arrives intact (checksummed)', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(t.workdir, 'blob.bin');
    await writeFile(file, data);
    const { events } = await stream({ cmd: `exec >&-; sleep 0.2; cat ${file} >&2`, stream: true });
    expect(decoded(events, 'stdout').length).toBe(0);
    expect(sha(decoded(events, 'stderr'))).toBe(sha(data));
    expect(events.at(-1)?.data).toMatchObject({ exit_code: 0 });
  });

  it('reports a signal death in the exit event', async () => {
    const { events } = await stream({ cmd: 'kill -TERM $$', stream: true });
    expect(events.at(-1)).toEqual({ event: 'exit', data: expect.objectContaining({ exit_code: 143, signal: 'SIGTERM' }) });
  });

  it('sends `: ping` comments while a task is quiet', async () => {
    const { comments, events } = await stream({ cmd: ['sleep', '0.5'], stream: true });
    expect(comments.length).toBeGreaterThan(0);
    expect(new Set(comments)).toEqual(new Set([': ping']));
    expect(events.at(-1)?.event).toBe('exit');
  });

  it('attaching late replays earlier output, then goes live, then exit', async () => {
    const res = await openSse(t.url, t.token, 'POST', '/exec', {
      cmd: ['sh', '-c', 'echo first; echo err-first >&2; read x; echo "second $x"'],
      stream: true,
    });
    const first = await collect(res, (_ev, all) => all.some((e) => e.event === 'stdout') && all.some((e) => e.event === 'stderr'));
    const id = String(first[0]?.data.task_id);
    res.destroy(); // the first client leaves; the task goes on

    const late = await openSse(t.url, t.token, 'GET', `/exec/stream?task_id=${id}`);
    expect(late.statusCode).toBe(200);
    const replayed = collect(late, () => false);
    const input = await t.json('POST', `/exec/${id}/input`, { body: 'go\n', headers: { 'content-type': 'application/octet-stream' } });
    expect(input.body).toEqual({ success: true, bytes_written: 3 });
    const events = await replayed;
    expect(events.map((e) => e.event)).not.toContain('task_id');
    expect(decoded(events, 'stdout').toString()).toBe('first\nsecond go\n');
    expect(decoded(events, 'stderr').toString()).toBe('err-first\n');
    expect(events.at(-1)?.event).toBe('exit');
  });

  it('subscribing to a finished task sends `output` as raw text, then exit', async () => {
    const kept = await t.json<{ id: string }>('POST', '/exec', { body: { cmd: 'echo out; echo err >&2; exit 4', keep_logs: true } });
    const { events, raw } = await readSse(await t.request('GET', `/exec/stream?task_id=${kept.body.id}`));
    expect(events).toEqual([
      { event: 'output', data: { stdout: 'out\n', stderr: 'err\n' } },
      { event: 'exit', data: expect.objectContaining({ exit_code: 4, status: 'exited' }) },
    ]);
    expect(raw.startsWith('event: output\ndata: {"stdout":"out\\n","stderr":"err\\n"}\n\n')).toBe(true);

    const dropped = await t.json<{ id: string }>('POST', '/exec', { body: { cmd: ['echo', 'gone'] } });
    const again = await readSse(await t.request('GET', `/exec/stream?task_id=${dropped.body.id}`));
    expect(again.events[0]).toEqual({ event: 'output', data: { stdout: '', stderr: '' } });
    expect(again.events[1]?.event).toBe('exit');
  });

  it('a client disconnecting mid-stream does not kill the task', async () => {
    const marker = path.join(t.workdir, 'survived');
    const res = await openSse(t.url, t.token, 'POST', '/exec/stream', { cmd: `echo started; sleep 0.3; echo done > ${marker}` });
    const events = await collect(res, (ev) => ev.event === 'stdout');
    res.destroy();
    const id = String(events[0]?.data.task_id);
    await until(() => existsSync(marker), 'the task to finish after the client left');
    const task = await until(async () => {
      const r = await t.json<{ status: string; exit_code: number }>('GET', `/exec/${id}`);
      return r.body.status === 'exited' ? r.body : undefined;
    }, 'the exit');
    expect(task?.exit_code).toBe(0);
  });

  it('a task that forks a background child holding the pipes is reported after the grace period', async () => {
    const { events } = await stream({ cmd: 'sleep 30 & echo $!', stream: true });
    const pid = Number(decoded(events, 'stdout').toString());
    expect(events.at(-1)?.data).toMatchObject({ exit_code: 0 });
    // The background child was started on purpose and is left alone.
    process.kill(pid, 'SIGKILL');
  });

  it('a slow reader pauses the task instead of growing memory, and still gets every byte', async () => {
    const size = 48 * 1024 * 1024;
    const res = await openSse(t.url, t.token, 'POST', '/exec/stream', { cmd: `head -c ${size} /dev/zero` });
    const parser = new SseParser();
    let bytes = 0;
    const count = (events: ReturnType<SseParser['push']>) => {
      for (const ev of events) if (ev.event === 'stdout') bytes += Buffer.from(String(ev.data.data), 'base64').length;
    };
    const first = await new Promise<string>((resolve) => {
      res.setEncoding('utf8');
      res.once('data', (text: string) => {
        // The first read may carry output frames after the task id: they count too.
        count(parser.push(text));
        resolve(String(parser.events[0]?.data.task_id));
      });
    });
    res.pause();
    await new Promise((r) => setTimeout(r, 1000));
    // The producer is blocked on a full pipe while nobody reads.
    const mid = await t.json<{ status: string }>('GET', `/exec/${first}`);
    expect(mid.body.status).toBe('running');
    const done = new Promise<void>((resolve) => {
      res.on('data', (text: string) => count(parser.push(text)));
      res.on('end', resolve);
    });
    res.resume();
    await done;
    expect(bytes).toBe(size);
    expect(parser.events.at(-1)?.event).toBe('exit');
  });

  it('50 concurrent streaming tasks all complete with the right output', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        stream({ cmd: `i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo task-${n}-$i; done`, stream: true }),
      ),
    );
    results.forEach(({ events }, n) => {
      const expected = Array.from({ length: 200 }, (_, i) => `task-${n}-${i + 1}\n`).join('');
      expect(decoded(events, 'stdout').toString()).toBe(expected);
      expect(events.at(-1)?.data).toMatchObject({ exit_code: 0 });
    });
  });
});

describe('stalled readers', () => {
  let s: TestAgent;
  beforeAll(async () => {
    s = await startTestAgent({ domains: [createExecDomain({ stallTimeoutMs: 300, sseSoftLimit: 64 * 1024 })] });
  });
  afterAll(async () => {
    await s.json('DELETE', '/exec');
    await s.close();
  });

  it('a reader that stops reading is disconnected and the task finishes without it', async () => {
    const res = await openSse(s.url, s.token, 'POST', '/exec/stream', { cmd: ['head', '-c', String(64 * 1024 * 1024), '/dev/zero'] });
    const id = await new Promise<string>((resolve) => {
      res.setEncoding('utf8');
      res.once('data', (text: string) => resolve(String(new SseParser().push(text)[0]?.data.task_id)));
    });
    res.pause();
    // 64 MiB cannot fit in socket buffers: the task finishes only once the agent drops the reader.
    const task = await until(async () => {
      const r = await s.json<{ status: string; exit_code: number }>('GET', `/exec/${id}`);
      return r.body.status === 'exited' ? r.body : undefined;
    }, 'the task to finish');
    expect(task?.exit_code).toBe(0);
    res.destroy();
  });
});
