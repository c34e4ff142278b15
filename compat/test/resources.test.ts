import type { Runtime } from 'oblien/runtime';
import { beforeAll, expect, it } from 'vitest';
import { createWorkspace, describeOfficialStack, gatewayRuntime } from './helpers/official-stack.js';

const SLOT = 47;

describeOfficialStack(
  SLOT,
  (variant) => `official SDK resources (${variant.title})`,
  (cp, variant) => {
    const sandbox = variant.kind === 'sandbox';
    let id: string;
    let rt: Runtime;
    beforeAll(async () => {
      id = await createWorkspace(cp.client, variant, { name: 'sdk-resources', memory_mb: 128 });
      rt = await gatewayRuntime(cp, id);
    }, 120_000);

    it('get: the sizes, also where WorkspaceData reads them', async () => {
      const r = await cp.client.workspaces.resources.get(id);
      expect(r).toMatchObject({ success: true, workspace_id: id, cpus: 1, memory_mb: 128, resources: { cpus: 1, memory_mb: 128 } });
      const ws = await cp.client.workspaces.get(id);
      expect(ws.resources).toMatchObject({ cpus: 1, memory_mb: 128 });
    });

    it('update raises memory live: a command the old limit killed then succeeds (sandbox), without a restart', async () => {
      const hog = ['sh', '-c', 'head -c 200m /dev/zero | tail > /dev/null; echo "exit=$?"'];
      if (sandbox) expect((await rt.exec.run(hog)).stdout).toContain('exit=137');
      const r = await cp.client.workspaces.resources.update(id, { memory_mb: 512 });
      expect(r).toMatchObject({ success: true, memory_mb: 512 });
      expect((r.changes as Record<string, unknown>).memory_mb).toMatchObject(
        sandbox ? { from: 128, to: 512, applied: true, applies_on: 'now' } : { from: 128, to: 512, applied: false, applies_on: null },
      );
      if (sandbox) expect((await rt.exec.run(hog)).stdout).toContain('exit=0');
      // The same runtime (token, connection) still works: nothing restarted.
      expect((await rt.exec.run(['echo', 'same'])).stdout).toBe('same\n');
    }, 120_000);

    it('patch a subset (the MCP server’s call); a smaller disk is a ConflictError', async () => {
      const r = await cp.client.workspaces.resources.patch(id, { cpus: 2 });
      expect(r).toMatchObject({ cpus: 2, memory_mb: 512 });
      const disk = r.disk_size_mb as number;
      const grown = await cp.client.workspaces.resources.update(id, { disk_size_mb: disk + 256 });
      expect(grown.disk_size_mb).toBe(disk + 256);
      await expect(cp.client.workspaces.resources.update(id, { disk_size_mb: disk + 128 })).rejects.toMatchObject({
        status: 409,
        code: 'conflict',
      });
      await expect(cp.client.workspaces.resources.get('ws_doesnotexist0')).rejects.toMatchObject({ status: 404 });
    });
  },
);
