// The official `oblien` SDK's `workspaces.metadata` (get, update, patch) and its workspace handle as black-box
// clients of Cove's control plane, on each driver: get answers the bare map its types name, update replaces,
// patch merges, bad input and other owners surface as its error classes.
import { Oblien } from 'oblien';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from '../../packages/api/test/helpers/driver-stack.js';

const SLOT = 46;

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`official SDK metadata (${variant.title})`, () => {
    let t: TestStack;
    let client: Oblien;
    let id: string;
    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      client = new Oblien({ clientId: t.client.clientId, clientSecret: t.client.clientSecret, baseUrl: t.url });
      id = ((await client.workspaces.create({ name: 'sdk-metadata', ...variant.workspace } as never)) as unknown as { id: string }).id;
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    }, 120_000);

    it('get is the map of strings; update replaces; patch merges', async () => {
      expect(await client.workspaces.metadata.get(id)).toEqual({});
      const updated = await client.workspaces.metadata.update(id, { metadata: { env: 'production', team: 'backend' } });
      expect(updated).toMatchObject({ success: true, workspace_id: id, metadata: { env: 'production', team: 'backend' } });
      const patched = await client.workspaces.metadata.patch(id, { metadata: { version: '2.0' } });
      expect(patched.metadata).toEqual({ env: 'production', team: 'backend', version: '2.0' });
      const md: Record<string, string> = await client.workspaces.metadata.get(id);
      expect(md).toEqual({ env: 'production', team: 'backend', version: '2.0' });
      expect(md.env).toBe('production');
      await client.workspaces.metadata.update(id, { metadata: { only: 'this' } });
      expect(await client.workspaces.metadata.get(id)).toEqual({ only: 'this' });
      // The handle binds the id.
      const handle = client.workspace(id);
      await handle.metadata.patch({ metadata: { via: 'handle' } });
      expect(await handle.metadata.get()).toEqual({ only: 'this', via: 'handle' });
    });

    it('errors: bad input is a 400, unknown ids and other owners 404, in the SDK error classes', async () => {
      await expect(client.workspaces.metadata.update(id, { metadata: { n: 1 } as never })).rejects.toMatchObject({
        status: 400,
        code: 'bad_request',
      });
      const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
      await expect(client.workspaces.metadata.patch(id, { metadata: many })).rejects.toMatchObject({ status: 400 });
      await expect(client.workspaces.metadata.update(id, { metadata: { big: 'x'.repeat(5000) } })).rejects.toMatchObject({ status: 400 });
      await expect(client.workspaces.metadata.get('ws_doesnotexist0')).rejects.toMatchObject({ status: 404, code: 'not_found' });
      const other = await t.newClient('mallory');
      const mallory = new Oblien({ clientId: other.clientId, clientSecret: other.clientSecret, baseUrl: t.url });
      await expect(mallory.workspaces.metadata.get(id)).rejects.toMatchObject({ status: 404 });
      await expect(mallory.workspaces.metadata.update(id, { metadata: { a: 'b' } })).rejects.toMatchObject({ status: 404 });
      expect(await client.workspaces.metadata.get(id)).toEqual({ only: 'this', via: 'handle' });
    });
  });
}
