// Black-box: the official `oblien` SDK (2.4.0) drives Cove's exec endpoints, on each driver (see openOfficialWorkspace).
import { afterAll, expect, it } from 'vitest';
import { describeOnEachDriver } from './helpers/official-runtime.js';

const SLOT = 22;

type Ev = { event: string; [k: string]: unknown };
const text = (events: Ev[], name: string) =>
  events
    .filter((e) => e.event === name)
    .map((e) => atob(String(e.data)))
    .join('');

async function all(gen: AsyncIterable<unknown>): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const ev of gen) out.push(ev as Ev);
  return out;
}

describeOnEachDriver(
  SLOT,
  (variant) => `official SDK: rt.exec (${variant.title})`,
  (w) => {
    afterAll(async () => {
      await w.rt.exec.deleteAll();
    }, 120_000);

    it('run() returns the task object', async () => {
      const result = await w.rt.exec.run(['echo', 'hello']);
      expect(result).toMatchObject({
        command: ['echo', 'hello'],
        status: 'exited',
        exit_code: 0,
        stdout: 'hello\n',
        stderr: '',
        ttl_seconds: 300,
      });
      expect(typeof result.id).toBe('string');
      expect(typeof result.guest_pid).toBe('number');
    });

    it('run() passes exec_mode, timeout_seconds, ttl_seconds and keep_logs', async () => {
      const shell = await w.rt.exec.run(['echo', '$((1+2))'], { execMode: 'shell', ttlSeconds: -1, keepLogs: true });
      expect(shell).toMatchObject({ stdout: '3\n', ttl_seconds: -1 });
      expect((await w.rt.exec.get(shell.id)).stdout).toBe('3\n');
      const timed = await w.rt.exec.run(['sleep', '30'], { timeoutSeconds: 1 });
      expect(timed).toMatchObject({ timed_out: true, exit_code: 143 });
    });

    it('run() with a missing binary throws the server error', async () => {
      await expect(w.rt.exec.run(['/no/such/program'], { execMode: 'direct' })).rejects.toMatchObject({ status: 500 });
    });

    it('run() with bad input throws a 400', async () => {
      await expect(w.rt.exec.run([] as string[])).rejects.toMatchObject({ status: 400 });
    });

    it('stream() yields task_id, base64 stdout/stderr and exit, then ends', async () => {
      const events = await all(w.rt.exec.stream(['sh', '-c', 'echo out; echo err >&2; exit 3']));
      expect(events[0]).toMatchObject({ event: 'task_id', task_id: expect.any(String) });
      expect(text(events, 'stdout')).toBe('out\n');
      expect(text(events, 'stderr')).toBe('err\n');
      expect(events.at(-1)).toMatchObject({ event: 'exit', exit_code: 3, pid: expect.any(Number) });
    });

    it('subscribe() attaches to a running task, input() feeds its stdin, kill() stops it', async () => {
      const gen = w.rt.exec.stream(['sh', '-c', 'echo ready; read line; echo "got $line"; sleep 300']);
      const first = await gen.next();
      const id = String((first.value as Ev).task_id);
      await gen.return(undefined); // the streaming client leaves; the task goes on

      const sub = w.rt.exec.subscribe(id);
      const seen: Ev[] = [];
      const reading = (async () => {
        for await (const ev of sub) {
          seen.push(ev as Ev);
          if (text(seen, 'stdout').includes('got yes')) return;
        }
      })();
      expect(await w.rt.exec.input(id, 'yes\n')).toEqual({ success: true, bytes_written: 4 });
      await reading;
      expect(text(seen, 'stdout')).toBe('ready\ngot yes\n');

      const listed = await w.rt.exec.list();
      expect(listed.find((x) => x.id === id)).toMatchObject({ status: 'running' });
      expect(await w.rt.exec.kill(id)).toEqual({ success: true });
      await expect(w.rt.exec.get(id)).rejects.toMatchObject({ status: 404 });
    });

    it('subscribe() to a finished task replays output and exit', async () => {
      const done = await w.rt.exec.run(['sh', '-c', 'echo kept'], { keepLogs: true });
      const events = await all(w.rt.exec.subscribe(done.id));
      expect(events).toEqual([{ event: 'output', stdout: 'kept\n', stderr: '' }, expect.objectContaining({ event: 'exit', exit_code: 0 })]);
    });

    it('subscribe() to an unknown task throws 404', async () => {
      await expect(all(w.rt.exec.subscribe('nope'))).rejects.toMatchObject({ status: 404 });
    });

    it('deleteAll() reports how many tasks it removed', async () => {
      await w.rt.exec.deleteAll();
      await w.rt.exec.run(['true']);
      await w.rt.exec.run(['true']);
      expect(await w.rt.exec.deleteAll()).toEqual({ success: true, deleted: 2 });
      expect(await w.rt.exec.list()).toEqual([]);
    });

    it('input() to a finished task throws a conflict', async () => {
      const done = await w.rt.exec.run(['true']);
      await expect(w.rt.exec.input(done.id, 'late')).rejects.toMatchObject({ status: 409 });
    });
  },
);
