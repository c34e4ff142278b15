import { beforeAll, expect, it } from 'vitest';
import { createWorkspace, describeOfficialStack } from './helpers/official-stack.js';

const SLOT = 92;

// biome-ignore lint/suspicious/noExplicitAny: the official SDK types answers loosely; tests read them field by field
type Body = Record<string, any>;

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

/** The first `n` events of an SSE iterator (the loop's break closes the stream). */
async function take<T>(events: AsyncGenerator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for await (const e of events) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}

describeOfficialStack(
  SLOT,
  (variant) => `official SDK workloads (${variant.title})`,
  (cp, variant) => {
    let id: string;
    beforeAll(async () => {
      id = await createWorkspace(cp.client, variant, { name: 'wl' });
    }, 120_000);

    it('create, list, get, update, patch, status, logs, stats, start, stop, delete, deleteAll', async () => {
      const wl = cp.client.workspaces.workloads;
      const created = (await wl.create(id, {
        name: 'printer',
        cmd: ['sh', '-c', 'echo "$GREETING from $(pwd)"; exec sleep 1000'],
        env: ['GREETING=hello'],
        working_dir: '/tmp',
        restart_policy: 'on-failure',
        labels: { team: 'a' },
      })) as Body;
      expect(created).toMatchObject({
        name: 'printer',
        status: 'running',
        env: ['GREETING=hello'],
        labels: { team: 'a' },
        target: 'default',
      });
      expect(((await wl.list(id)) as Body[]).map((w) => w.id)).toEqual([created.id]);
      expect(await wl.list(id, { states: 'exited' })).toEqual([]);
      expect(((await wl.list(id, { name: 'printer' })) as Body[]).length).toBe(1);
      expect(await wl.get(id, created.id)).toMatchObject({ id: created.id, name: 'printer', status: 'running' });

      const logs = await until(
        () => wl.logs(id, created.id) as Promise<Body>,
        (l) => l.logs.length > 0,
        'output',
      );
      expect(logs.logs).toEqual([{ data: 'hello from /tmp' }]);
      const stats = (await wl.stats(id, created.id)) as Body;
      expect(stats).toMatchObject({ success: true, workload_id: created.id, status: 'running', pids: 1 });
      expect(stats.memory_usage).toBeGreaterThan(0);
      const [sample] = await take(wl.statsStream(id, created.id), 1);
      expect(sample).toMatchObject({ workload_id: created.id, status: 'running' });
      const all = await take(wl.allStatsStream(id), 1);
      expect(all[0]).toMatchObject({ workload_id: created.id });
      const [line] = await take(wl.logsStream(id, created.id), 1);
      expect(line).toMatchObject({ data: 'hello from /tmp' });

      expect(await wl.update(id, created.id, { labels: { team: 'b' } })).toMatchObject({
        success: true,
        workload: { labels: { team: 'b' } },
      });
      const patched = (await wl.patch(id, created.id, { name: 'renamed', restart_policy: 'always' })) as Body;
      expect(patched.workload).toMatchObject({ name: 'renamed', restart_policy: 'always', status: 'running' });

      expect(await wl.stop(id, created.id)).toMatchObject({ success: true, workload: { status: 'stopped', enabled: false } });
      expect(await wl.status(id, created.id)).toMatchObject({ success: true, status: 'stopped', pid: null });
      expect(await wl.start(id, created.id)).toMatchObject({ success: true, workload: { status: 'running', enabled: true } });
      expect(await wl.delete(id, created.id)).toMatchObject({ success: true, workload_id: created.id });

      await wl.create(id, { cmd: ['sleep', '1000'] });
      await wl.create(id, { cmd: ['sleep', '1000'] });
      expect(await wl.deleteAll(id)).toMatchObject({ success: true, deleted: 2 });
      expect(await wl.list(id)).toEqual([]);
    }, 120_000);

    it('errors as the SDK reports them', async () => {
      const wl = cp.client.workspaces.workloads;
      await expect(wl.get(id, 'wl_nope')).rejects.toMatchObject({ status: 404 });
      await expect(wl.create(id, { cmd: ['/no/such/program'] })).rejects.toMatchObject({ status: 400 });
      await expect(wl.create('ws_nope0000000', { cmd: ['true'] })).rejects.toMatchObject({ status: 404 });
    }, 60_000);
  },
);
