// The official `oblien` SDK's `workspaces.resources` (get, update, patch) as a black-box client of Cove's control
// plane, on each driver: its CLI's and MCP server's calls (a subset of cpus, memory_mb, disk_size_mb) change the
// workspace (live on a sandbox: the process that needed the memory then runs), a smaller disk is a ConflictError.
import { Oblien } from 'oblien';
import { Runtime } from 'oblien/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from '../../packages/api/test/helpers/driver-stack.js';

const SLOT = 47;

for (const variant of driverVariants()) {
  const sandbox = variant.kind === 'sandbox';
  describe.skipIf(variant.skip)(`official SDK resources (${variant.title})`, () => {
    let t: TestStack;
    let client: Oblien;
    let id: string;
    let rt: Runtime;
    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      client = new Oblien({ clientId: t.client.clientId, clientSecret: t.client.clientSecret, baseUrl: t.url });
      const ws = (await client.workspaces.create({ name: 'sdk-resources', ...variant.workspace, memory_mb: 128 } as never)) as unknown as {
        id: string;
      };
      id = ws.id;
      const { token } = await client.workspaces.apiAccess.enable(id);
      await client.workspaces.network.update(id, { public_access: true });
      rt = new Runtime({ token: String(token), baseUrl: t.gatewayURL });
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    }, 120_000);

    it('get: the sizes, also where WorkspaceData reads them', async () => {
      const r = await client.workspaces.resources.get(id);
      expect(r).toMatchObject({ success: true, workspace_id: id, cpus: 1, memory_mb: 128, resources: { cpus: 1, memory_mb: 128 } });
      const ws = await client.workspaces.get(id);
      expect(ws.resources).toMatchObject({ cpus: 1, memory_mb: 128 });
    });

    it('update raises memory live: a command the old limit killed then succeeds (sandbox), without a restart', async () => {
      const hog = ['sh', '-c', 'head -c 200m /dev/zero | tail > /dev/null; echo "exit=$?"'];
      if (sandbox) expect((await rt.exec.run(hog)).stdout).toContain('exit=137');
      const r = await client.workspaces.resources.update(id, { memory_mb: 512 });
      expect(r).toMatchObject({ success: true, memory_mb: 512 });
      expect((r.changes as Record<string, unknown>).memory_mb).toMatchObject(
        sandbox ? { from: 128, to: 512, applied: true, applies_on: 'now' } : { from: 128, to: 512, applied: false, applies_on: null },
      );
      if (sandbox) expect((await rt.exec.run(hog)).stdout).toContain('exit=0');
      // The same runtime (token, connection) still works: nothing restarted.
      expect((await rt.exec.run(['echo', 'same'])).stdout).toBe('same\n');
    }, 120_000);

    it('patch a subset (the MCP server’s call); a smaller disk is a ConflictError', async () => {
      const r = await client.workspaces.resources.patch(id, { cpus: 2 });
      expect(r).toMatchObject({ cpus: 2, memory_mb: 512 });
      const disk = r.disk_size_mb as number;
      const grown = await client.workspaces.resources.update(id, { disk_size_mb: disk + 256 });
      expect(grown.disk_size_mb).toBe(disk + 256);
      await expect(client.workspaces.resources.update(id, { disk_size_mb: disk + 128 })).rejects.toMatchObject({
        status: 409,
        code: 'conflict',
      });
      await expect(client.workspaces.resources.get('ws_doesnotexist0')).rejects.toMatchObject({ status: 404 });
    });
  });
}
