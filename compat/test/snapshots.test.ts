// The official `oblien` SDK's `workspaces.snapshots` (create, restore, createArchive, listArchives, getArchive,
// deleteArchive, deleteAllArchives) as a black-box client of Cove: on the sandbox driver each call does what it
// says (checked inside the workspace through the SDK's own runtime), and `@cove/sdk`'s `fork` beside it; the
// process driver refuses them with 409, which the SDK surfaces as its error.
import { Oblien as CoveClient } from '@cove/sdk';
import { Oblien } from 'oblien';
import { Runtime } from 'oblien/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from '../../packages/api/test/helpers/driver-stack.js';

const SLOT = 81;

// biome-ignore lint/suspicious/noExplicitAny: the SDK's answers are read field by field
type Json = any;

for (const variant of driverVariants()) {
  const sandbox = variant.kind === 'sandbox';
  describe.skipIf(variant.skip)(`official SDK snapshots and archives (${variant.title})`, () => {
    let t: TestStack;
    let client: Oblien;
    let id: string;

    /** Runs a shell script in workspace `ws` through the official SDK's runtime (gateway, agent). */
    async function sh(ws: string, script: string): Promise<string> {
      // A fresh token each time: a restore restarts the agent, forks have their own.
      const { token } = await client.workspaces.apiAccess.enable(ws);
      const rt = new Runtime({ token: String(token), baseUrl: t.gatewayURL });
      const res = (await rt.exec.run(['sh', '-c', script])) as Json;
      expect(res.exit_code ?? res.exitCode, res.stderr).toBe(0);
      return res.stdout;
    }

    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      client = new Oblien({ clientId: t.client.clientId, clientSecret: t.client.clientSecret, baseUrl: t.url });
      id = ((await client.workspaces.create({ name: 'sdk-snapshots', ...variant.workspace } as never)) as unknown as { id: string }).id;
      await client.workspaces.network.update(id, { public_access: true } as never);
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    }, 120_000);

    if (!sandbox) {
      it('the process driver refuses them with 409', async () => {
        for (const call of [
          () => client.workspaces.snapshots.create(id),
          () => client.workspaces.snapshots.restore(id),
          () => client.workspaces.snapshots.createArchive(id, { version: 'v1' }),
          () => client.workspaces.snapshots.listArchives(id),
        ]) {
          await expect(call()).rejects.toMatchObject({ status: 409 });
        }
      });
      return;
    }

    it('create and restore: the file system goes back to the snapshot', async () => {
      await sh(id, 'echo before > /root/state');
      const snap = (await client.workspaces.snapshots.create(id, { after: 'resume' })) as Json;
      expect(snap).toMatchObject({ success: true, memory: false, snapshot: { workspace_id: id } });
      await sh(id, 'echo after > /root/state && touch /root/extra');
      const restored = (await client.workspaces.snapshots.restore(id)) as Json;
      expect(restored).toMatchObject({ success: true, restored: true });
      expect(await sh(id, 'cat /root/state; ls /root')).toBe('before\nstate\n');
    });

    it('archives: create, list, get, delete one and all', async () => {
      await sh(id, 'mkdir -p /root/app && echo hi > /root/app/a');
      const created = (await client.workspaces.snapshots.createArchive(id, {
        version: 'v1',
        format: 'tar.zst',
        vm_paths: ['/root/app'],
        exclude_vm_paths: [],
      })) as Json;
      expect(created).toMatchObject({ success: true, version: 'v1', format: 'tar.zst', vm_paths: ['/root/app'] });
      await client.workspaces.snapshots.createArchive(id, { version: 'v2', format: 'tar.gz' });
      const list = await client.workspaces.snapshots.listArchives(id);
      expect(list.map((a) => a.version)).toEqual(['v1', 'v2']);
      const one = await client.workspaces.snapshots.getArchive(id, 'v1');
      expect(one).toMatchObject({ version: 'v1', sha256: created.sha256, size: created.size });
      await expect(client.workspaces.snapshots.getArchive(id, 'nope')).rejects.toMatchObject({ status: 404 });
      await expect(client.workspaces.snapshots.createArchive(id, { version: 'v1' })).rejects.toMatchObject({ status: 409 });
      expect(await client.workspaces.snapshots.deleteArchive(id, 'v1', { delete_file: true })).toMatchObject({ success: true });
      expect(await client.workspaces.snapshots.deleteAllArchives(id, { delete_files: true })).toMatchObject({ success: true, deleted: 1 });
      expect(await client.workspaces.snapshots.listArchives(id)).toEqual([]);
    });

    it("@cove/sdk: fork, and an archive's download", async () => {
      const cove = new CoveClient({ clientId: t.client.clientId, clientSecret: t.client.clientSecret, baseURL: t.url, gatewayURL: t.gatewayURL });
      await sh(id, 'echo parent > /root/who');
      const [child] = await cove.workspaces.fork(id, { name: 'sdk-child' });
      expect(child).toMatchObject({ name: 'sdk-child', status: 'running' });
      const childId = String(child?.id);
      expect(await sh(childId, 'cat /root/who')).toBe('parent\n');
      await cove.workspaces.snapshots.createArchive(childId, { version: 'c1', vm_paths: ['/root/who'] });
      const res = await cove.workspaces.snapshots.downloadArchive(childId, 'c1');
      expect(res.headers.get('content-type')).toBe('application/zstd');
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect([...bytes.slice(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
      await cove.workspaces.delete(childId);
    });
  });
}
