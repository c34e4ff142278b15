// The official `oblien` SDK's `workspaces.snapshots` (create, restore, createArchive, listArchives, getArchive,
// deleteArchive, deleteAllArchives) as a black-box client of Cove, on both drivers: each call does what it says
// (checked inside the workspace through the SDK's own runtime), and `@cove/sdk`'s `fork`, download and upload
// beside it. Paths are under the workspace's home (`/root` in a sandbox, its host directory for the process driver).
import { Oblien as CoveClient } from '@cove/sdk';
import { Runtime } from 'oblien/runtime';
import { beforeAll, expect, it } from 'vitest';
import { createWorkspace, describeOfficialStack } from './helpers/official-stack.js';

const SLOT = 81;

// biome-ignore lint/suspicious/noExplicitAny: the SDK's answers are read field by field
type Json = any;

describeOfficialStack(
  SLOT,
  (variant) => `official SDK snapshots and archives (${variant.title})`,
  (cp, variant) => {
    let id: string;
    /** The workspace's home as its commands see it. */
    let home: string;

    /** Runs a shell script in workspace `ws` through the official SDK's runtime (gateway, agent). */
    async function sh(ws: string, script: string): Promise<string> {
      // A fresh token each time: a restore restarts the agent, forks have their own.
      const { token } = await cp.client.workspaces.apiAccess.enable(ws);
      const rt = new Runtime({ token: String(token), baseUrl: cp.t.gatewayURL });
      const res = (await rt.exec.run(['sh', '-c', script])) as Json;
      expect(res.exit_code ?? res.exitCode, res.stderr).toBe(0);
      return res.stdout;
    }

    beforeAll(async () => {
      id = await createWorkspace(cp.client, variant, { name: 'sdk-snapshots' });
      await cp.client.workspaces.network.update(id, { public_access: true } as never);
      home = (await sh(id, 'cd && pwd')).trim();
    }, 120_000);

    it('create and restore: the file system goes back to the snapshot', async () => {
      await sh(id, 'mkdir -p ~/snap && echo before > ~/snap/state');
      const snap = (await cp.client.workspaces.snapshots.create(id, { after: 'resume' })) as Json;
      expect(snap).toMatchObject({ success: true, memory: false, snapshot: { workspace_id: id } });
      await sh(id, 'echo after > ~/snap/state && touch ~/snap/extra');
      const restored = (await cp.client.workspaces.snapshots.restore(id)) as Json;
      expect(restored).toMatchObject({ success: true, restored: true });
      expect(await sh(id, 'cat ~/snap/state; ls ~/snap')).toBe('before\nstate\n');
    });

    it('archives: create, list, get, delete one and all', async () => {
      await sh(id, 'mkdir -p ~/app && echo hi > ~/app/a');
      const created = (await cp.client.workspaces.snapshots.createArchive(id, {
        version: 'v1',
        format: 'tar.zst',
        vm_paths: [`${home}/app`],
        exclude_vm_paths: [],
      })) as Json;
      expect(created).toMatchObject({ success: true, version: 'v1', format: 'tar.zst', vm_paths: [`${home}/app`] });
      await cp.client.workspaces.snapshots.createArchive(id, { version: 'v2', format: 'tar.gz' });
      const list = await cp.client.workspaces.snapshots.listArchives(id);
      expect(list.map((a) => a.version)).toEqual(['v1', 'v2']);
      const one = await cp.client.workspaces.snapshots.getArchive(id, 'v1');
      expect(one).toMatchObject({ version: 'v1', sha256: created.sha256, size: created.size });
      await expect(cp.client.workspaces.snapshots.getArchive(id, 'nope')).rejects.toMatchObject({ status: 404 });
      await expect(cp.client.workspaces.snapshots.createArchive(id, { version: 'v1' })).rejects.toMatchObject({ status: 409 });
      expect(await cp.client.workspaces.snapshots.deleteArchive(id, 'v1', { delete_file: true })).toMatchObject({ success: true });
      expect(await cp.client.workspaces.snapshots.deleteAllArchives(id, { delete_files: true })).toMatchObject({
        success: true,
        deleted: 1,
      });
      expect(await cp.client.workspaces.snapshots.listArchives(id)).toEqual([]);
    });

    it("@cove/sdk: fork, an archive's download, and its upload into a new workspace", async () => {
      const cove = new CoveClient({
        clientId: cp.t.client.clientId,
        clientSecret: cp.t.client.clientSecret,
        baseURL: cp.t.url,
        gatewayURL: cp.t.gatewayURL,
      });
      await sh(id, 'echo parent > ~/who');
      const [child] = await cove.workspaces.fork(id, { name: 'sdk-child' });
      expect(child).toMatchObject({ name: 'sdk-child', status: 'running' });
      const childId = String(child?.id);
      expect(await sh(childId, 'cat ~/who')).toBe('parent\n');
      // Each process workspace is its own host directory: the child's home is not the parent's.
      const childHome = (await sh(childId, 'cd && pwd')).trim();
      await cove.workspaces.snapshots.createArchive(childId, { version: 'c1', vm_paths: [`${childHome}/who`] });
      const res = await cove.workspaces.snapshots.downloadArchive(childId, 'c1');
      expect(res.headers.get('content-type')).toBe('application/zstd');
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect([...bytes.slice(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
      await cove.workspaces.delete(childId);
      // The downloaded bytes, uploaded (as another Cove would receive them), become a new workspace.
      const upload = await cove.workspaces.snapshots.uploadArchive(bytes);
      expect(upload).toMatchObject({ format: 'tar.zst', size: bytes.length });
      expect((await cove.workspaces.snapshots.getUpload(upload.upload_id)).sha256).toBe(upload.sha256);
      const copy = await cove.workspaces.create({
        name: 'sdk-upload',
        ...variant.workspace,
        from_archive: { upload_id: upload.upload_id },
      });
      await cp.client.workspaces.network.update(copy.id, { public_access: true } as never);
      // A sandbox archive is named from its root, a process workspace's from its home.
      expect(await sh(copy.id, variant.kind === 'sandbox' ? `cat ${home}/who` : 'cat ~/who')).toBe('parent\n');
      await cove.workspaces.snapshots.deleteUpload(upload.upload_id);
      await expect(cove.workspaces.snapshots.getUpload(upload.upload_id)).rejects.toMatchObject({ status: 404 });
      await cove.workspaces.delete(copy.id);
    });
  },
);
