import { beforeAll, expect, it } from 'vitest';
import { createWorkspace, describeOfficialStack, officialClient } from './helpers/official-stack.js';

const SLOT = 61;

describeOfficialStack(
  SLOT,
  (variant) => `official SDK metrics (${variant.title})`,
  (cp, variant) => {
    const sandbox = variant.kind === 'sandbox';
    let id: string;
    beforeAll(async () => {
      id = await createWorkspace(cp.client, variant, { name: 'sdk-metrics' });
      // Its agent runs: the process driver's figures are those of the agent's process tree.
      await cp.client.workspaces.apiAccess.enable(id);
    }, 120_000);

    it('stats: the StatsEvent fields and the figures behind them', async () => {
      const s = await cp.client.workspaces.metrics.stats(id);
      expect(s).toMatchObject({ success: true, workspace_id: id, status: 'running', driver: variant.kind });
      expect(typeof s.cpu_usage).toBe('number');
      expect(typeof s.timestamp).toBe('string');
      const network = s.network as { rx: number | null; tx: number | null };
      const memory = s.memory as { current_bytes: number; limit_bytes: number | null };
      expect(memory.current_bytes).toBeGreaterThan(0);
      if (sandbox) {
        expect(typeof s.memory_usage).toBe('number');
        expect(typeof s.disk_usage).toBe('number');
        expect(typeof network.rx).toBe('number');
        expect(typeof network.tx).toBe('number');
        expect(memory.limit_bytes).toBe(512 * 1024 * 1024);
      } else {
        expect(s.memory_usage).toBeNull();
        expect(network).toMatchObject({ rx: null, tx: null });
      }
    });

    it('statsStream: the first event is a full sample; breaking out ends the stream', async () => {
      let first: Record<string, unknown> | undefined;
      for await (const event of cp.client.workspaces.metrics.statsStream(id)) {
        first = event;
        break;
      }
      expect(first).toMatchObject({ workspace_id: id, status: 'running', driver: variant.kind, cpu_usage: expect.any(Number) });
      expect(Date.parse(String(first?.timestamp))).not.toBeNaN();
      expect(first).not.toHaveProperty('success');
      // The control plane still answers (the stream's end released what it held).
      expect((await cp.client.workspaces.metrics.stats(id)).success).toBe(true);
    });

    it('info and config', async () => {
      expect(await cp.client.workspaces.metrics.info(id)).toMatchObject({
        success: true,
        workspace_id: id,
        name: 'sdk-metrics',
        driver: variant.kind,
        kernel: expect.any(String),
        stats_source: sandbox ? expect.stringMatching(/^cgroup-v[12]$/) : 'proc',
      });
      const config = await cp.client.workspaces.metrics.config(id);
      expect(config).toMatchObject({ success: true, workspace_id: id, status: 'running' });
      if (sandbox) expect(config.applied).toMatchObject({ memory_bytes: 512 * 1024 * 1024, cpus: 1 });
      else expect(config.applied).toEqual({ cpus: null, memory_bytes: null, pids: null, disk_bytes: null });
    });

    it('errors: 404 for unknown ids and other owners, 409 for a stopped workspace, in the SDK error classes', async () => {
      await expect(cp.client.workspaces.metrics.stats('ws_doesnotexist0')).rejects.toMatchObject({ status: 404, code: 'not_found' });
      await expect(cp.client.workspaces.metrics.info('ws_doesnotexist0')).rejects.toMatchObject({ status: 404 });
      const other = await cp.t.newClient('mallory');
      const mallory = officialClient(cp.t, other);
      await expect(mallory.workspaces.metrics.stats(id)).rejects.toMatchObject({ status: 404 });
      await expect(mallory.workspaces.metrics.config(id)).rejects.toMatchObject({ status: 404 });
      const stream = mallory.workspaces.metrics.statsStream(id);
      await expect(stream.next()).rejects.toMatchObject({ status: 404 });
      const stopped = await createWorkspace(cp.client, variant, { name: 'sdk-metrics-stopped' });
      await cp.client.workspaces.stop(stopped);
      await expect(cp.client.workspaces.metrics.stats(stopped)).rejects.toMatchObject({ status: 409, code: 'conflict' });
      await cp.client.workspaces.delete(stopped);
    });
  },
);
