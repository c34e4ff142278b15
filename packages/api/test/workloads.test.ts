// Workloads through the control plane, on both drivers: the agent in the workspace supervises them (restart
// policies with their delay, max_restarts, log rotation), they come back with the workspace, and the answers
// to hostile input are clear errors.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from './helpers/driver-stack.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field and assert on them
type Body = Record<string, any>;

const SLOT = 90;

/** Polls `read` until `done` holds (the suite's own timeout bounds it). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last).slice(0, 500)}`);
    await delay(100);
    last = await read();
  }
  return last;
}

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`workloads (${variant.title})`, () => {
    let t: TestStack;
    let id: string;
    const base = () => `/workspace/${id}/workloads`;
    const status = async (wid: string): Promise<Body> => (await t.json('GET', `${base()}/${wid}/status`)).body;
    const create = async (body: Record<string, unknown>): Promise<Body> => {
      const res = await t.json('POST', base(), { body });
      if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.workload;
    };
    /** Runs a command in the workspace (through its agent: as the workload's own user would). */
    const inside = async (cmd: string): Promise<Body> => {
      const w = await create({ cmd: ['sh', '-c', cmd], restart_policy: 'never' });
      const done = await until(
        () => status(w.id),
        (s) => s.status === 'exited' || s.status === 'failed',
        'a helper command',
      );
      await t.json('DELETE', `${base()}/${w.id}`);
      return done;
    };

    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      id = await t.createWorkspace(variant.workspace);
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    }, 120_000);

    it('`always` restarts a workload killed with SIGKILL, after its delay', async () => {
      const w = await create({
        name: 'web',
        cmd: ['sh', '-c', 'echo up; exec sleep 1000'],
        restart_policy: 'always',
        restart_delay: 1,
        restart_backoff: false,
      });
      expect(w).toMatchObject({ name: 'web', status: 'running', restart_policy: 'always', restart_delay: 1, enabled: true });
      const first = await until(
        () => status(w.id),
        (s) => s.pid !== null,
        'the first run',
      );
      const killed = await inside(`kill -9 ${first.pid}`);
      expect(killed.exit_code).toBe(0);
      const restarting = await until(
        () => status(w.id),
        (s) => s.exit_code === 137,
        'the kill to be seen',
      );
      expect(restarting).toMatchObject({ signal: 'SIGKILL', restart_count: 1 });
      const again = await until(
        () => status(w.id),
        (s) => s.status === 'running' && s.pid !== first.pid,
        'the restart',
      );
      // Started again no sooner than its delay after the exit.
      expect(Date.parse(again.started_at) - Date.parse(restarting.exited_at)).toBeGreaterThanOrEqual(1000);
      expect(again.restart_count).toBe(1);
      const logs = (await t.json('GET', `${base()}/${w.id}/logs`)).body;
      expect(logs.logs.map((l: Body) => l.data)).toEqual(['up', 'up']);
    }, 60_000);

    it('`on-failure` leaves a clean exit alone and gives up after `max_restarts`', async () => {
      const clean = await create({ cmd: ['sh', '-c', 'exit 0'], restart_policy: 'on-failure', restart_delay: 0.1 });
      const failing = await create({
        cmd: ['sh', '-c', 'echo try; exit 3'],
        restart_policy: 'on-failure',
        restart_delay: 0.1,
        max_restarts: 2,
      });
      expect(
        await until(
          () => status(clean.id),
          (s) => s.status === 'exited',
          'the clean exit',
        ),
      ).toMatchObject({
        exit_code: 0,
        restart_count: 0,
      });
      const gaveUp = await until(
        () => status(failing.id),
        (s) => s.status === 'failed',
        'giving up',
      );
      expect(gaveUp).toMatchObject({ exit_code: 3, restart_count: 2, error: expect.stringContaining('max_restarts 2') });
      expect((await t.json('GET', `${base()}/${failing.id}/logs`)).body.logs.map((l: Body) => l.data)).toEqual(['try', 'try', 'try']);
      const listed = await t.json('GET', `${base()}?states=failed,exited`);
      expect(listed.body.workloads.map((w: Body) => w.id).sort()).toEqual([clean.id, failing.id].sort());
    }, 60_000);

    it('rotates a log at `max_log_size_mb`, keeping the previous generation', async () => {
      // 600 lines of 100 bytes over ~3 s against a 10 KiB bound.
      const w = await create({
        cmd: ['sh', '-c', 'i=0; while [ $i -lt 600 ]; do printf "%-99s\\n" "line-$i"; i=$((i+1)); sleep 0.005; done; exec sleep 1000'],
        max_log_size_mb: 0.01,
      });
      await until(
        async () => (await t.json('GET', `${base()}/${w.id}/logs?tail_lines=1`)).body.logs,
        (logs: Body[]) => logs[0]?.data.trim() === 'line-599',
        'the last line',
      );
      const files = (await t.json('GET', `/workspace/${id}/logs/list`)).body.files as Body[];
      const current = files.find((f) => f.name === `workload-${w.id}.log`);
      const previous = files.find((f) => f.name === `workload-${w.id}.log.1`);
      expect(previous?.size).toBeGreaterThan(10 * 1024 * 0.99);
      expect((current?.size ?? 0) + (previous?.size ?? 0)).toBeLessThan(600 * 100);
      const old = (await t.json('GET', `/workspace/${id}/logs/file/workload-${w.id}.log.1`)).body;
      const now = (await t.json('GET', `/workspace/${id}/logs/file/workload-${w.id}.log`)).body;
      const number = (line: string) => Number(/line-(\d+)/.exec(line)?.[1]);
      const oldLines = (old.content as string).trim().split('\n');
      const nowLines = (now.content as string).trim().split('\n');
      // The current file continues where the previous generation stops.
      expect(number(nowLines[0] as string)).toBeGreaterThan(number(oldLines[oldLines.length - 1] as string));
      await t.json('POST', `${base()}/${w.id}/stop`);
    }, 60_000);

    it('come back with the workspace: enabled ones start again, stopped ones stay stopped', async () => {
      const on = await create({ name: 'keeper', cmd: ['sleep', '1000'] });
      const off = await create({ name: 'parked', cmd: ['sleep', '1000'] });
      const stopped = await t.json('POST', `${base()}/${off.id}/stop`);
      expect(stopped.body.workload).toMatchObject({ status: 'stopped', enabled: false });
      const before = await status(on.id);
      expect((await t.json('POST', `/workspace/${id}/restart`)).status).toBe(200);
      const after = await until(
        () => status(on.id),
        (s) => s.status === 'running',
        'the restart',
      );
      expect(after.pid).not.toBeNull();
      expect(after.started_at > before.started_at).toBe(true);
      expect(await status(off.id)).toMatchObject({ status: 'created', enabled: false, pid: null });
      const byName = await t.json('GET', `${base()}?name=keeper`);
      expect(byName.body.workloads.map((w: Body) => w.id)).toEqual([on.id]);
    }, 120_000);

    it('reports stats of its process tree from /proc', async () => {
      const w = await create({ cmd: ['sh', '-c', 'sleep 1000 & sleep 1000 & while :; do :; done'] });
      const stats = await until(
        async () => (await t.json('GET', `${base()}/${w.id}/stats`)).body,
        (s: Body) => (s.cpu_usage ?? 0) > 10,
        'CPU use',
      );
      expect(stats).toMatchObject({ success: true, workload_id: w.id, status: 'running', pids: 3 });
      expect(stats.memory_usage).toBeGreaterThan(0);
      await t.json('DELETE', `${base()}/${w.id}`);
      expect((await t.json('GET', `${base()}/${w.id}`)).status).toBe(404);
    }, 60_000);

    it('answers hostile input with clear errors and keeps serving', async () => {
      const bad = await t.json('POST', base(), { body: { cmd: ['/no/such/program'] } });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ success: false, code: 'bad_request', error: expect.stringContaining("'cmd'") });
      expect((await t.json('POST', base(), { body: { cmd: [] } })).status).toBe(400);
      expect((await t.json('POST', base(), { body: { name: 'x' } })).body.error).toContain("'cmd'");
      expect((await t.json('POST', base(), { body: { cmd: ['true'], user: 'nobody-here' } })).body.error).toContain("'user'");
      expect((await t.json('POST', base(), { body: { cmd: ['true'], working_dir: '/no/such/dir' } })).body.error).toContain('working_dir');
      expect((await t.json('POST', base(), { body: { cmd: ['true'], log_path: '/proc/self/mem' } })).status).toBe(400);
      expect((await t.json('POST', base(), { body: { cmd: ['true'], env: ['NOEQUALS'] } })).body.error).toContain("'env'");
      const huge = await t.json('POST', base(), {
        body: { cmd: ['true'], env: Array.from({ length: 1000 }, (_, i) => `K${i}=${'x'.repeat(2000)}`) },
      });
      expect(huge.status).toBe(413);
      expect(huge.body.success).toBe(false);
      expect((await t.json('POST', base(), { body: { cmd: ['true'], surprise: 1 } })).status).toBe(400);
      expect((await t.json('GET', `${base()}/wl_nope`)).body).toMatchObject({ success: false, code: 'not_found' });
      expect((await t.json('POST', `${base()}/wl_nope/start`)).status).toBe(404);
      expect((await t.json('GET', '/workspace/ws_nope0000000/workloads')).status).toBe(404);
      expect((await t.json('GET', `/workspace/${id}/logs/file/..%2F..%2Fetc%2Fpasswd`)).status).toBe(400);
      expect((await t.json('GET', `/workspace/${id}/logs/file/passwd`)).status).toBe(404);
      const other = await t.newClient('mallory');
      expect((await t.json('GET', base(), { auth: other })).status).toBe(404);
      expect((await t.json('GET', base())).status).toBe(200);
    }, 60_000);
  });
}
