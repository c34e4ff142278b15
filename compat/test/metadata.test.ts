import { beforeAll, expect, it } from 'vitest';
import { createWorkspace, describeOfficialStack, officialClient } from './helpers/official-stack.js';

const SLOT = 46;

describeOfficialStack(
  SLOT,
  (variant) => `official SDK metadata (${variant.title})`,
  (cp, variant) => {
    let id: string;
    beforeAll(async () => {
      id = await createWorkspace(cp.client, variant, { name: 'sdk-metadata' });
    }, 120_000);

    it('get is the map of strings; update replaces; patch merges', async () => {
      expect(await cp.client.workspaces.metadata.get(id)).toEqual({});
      const updated = await cp.client.workspaces.metadata.update(id, { metadata: { env: 'production', team: 'backend' } });
      expect(updated).toMatchObject({ success: true, workspace_id: id, metadata: { env: 'production', team: 'backend' } });
      const patched = await cp.client.workspaces.metadata.patch(id, { metadata: { version: '2.0' } });
      expect(patched.metadata).toEqual({ env: 'production', team: 'backend', version: '2.0' });
      const md: Record<string, string> = await cp.client.workspaces.metadata.get(id);
      expect(md).toEqual({ env: 'production', team: 'backend', version: '2.0' });
      expect(md.env).toBe('production');
      await cp.client.workspaces.metadata.update(id, { metadata: { only: 'this' } });
      expect(await cp.client.workspaces.metadata.get(id)).toEqual({ only: 'this' });
      // The handle binds the id.
      const handle = cp.client.workspace(id);
      await handle.metadata.patch({ metadata: { via: 'handle' } });
      expect(await handle.metadata.get()).toEqual({ only: 'this', via: 'handle' });
    });

    it('errors: bad input is a 400, unknown ids and other owners 404, in the SDK error classes', async () => {
      await expect(cp.client.workspaces.metadata.update(id, { metadata: { n: 1 } as never })).rejects.toMatchObject({
        status: 400,
        code: 'bad_request',
      });
      const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
      await expect(cp.client.workspaces.metadata.patch(id, { metadata: many })).rejects.toMatchObject({ status: 400 });
      await expect(cp.client.workspaces.metadata.update(id, { metadata: { big: 'x'.repeat(5000) } })).rejects.toMatchObject({
        status: 400,
      });
      await expect(cp.client.workspaces.metadata.get('ws_doesnotexist0')).rejects.toMatchObject({ status: 404, code: 'not_found' });
      const other = await cp.t.newClient('mallory');
      const mallory = officialClient(cp.t, other);
      await expect(mallory.workspaces.metadata.get(id)).rejects.toMatchObject({ status: 404 });
      await expect(mallory.workspaces.metadata.update(id, { metadata: { a: 'b' } })).rejects.toMatchObject({ status: 404 });
      expect(await cp.client.workspaces.metadata.get(id)).toEqual({ only: 'this', via: 'handle' });
    });
  },
);
