// The official `oblien` SDK (2.4.0) and images: `client.workspaces.images.list({ search, category })` on each
// driver, and on the sandbox driver `create({ image })` of an image only a registry on loopback has — the SDK
// sends `wait_ready: false` and polls, so the pull shows as `provisioning` until the workspace runs.
import { Oblien } from 'oblien';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from '../../packages/api/test/helpers/driver-stack.js';
import { makeTestImages, type TestImages } from '../../packages/api/test/helpers/test-images.js';

const SLOT = 52;

// biome-ignore lint/suspicious/noExplicitAny: the SDK's answers are read field by field
type Json = any;

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`official SDK: images (${variant.title})`, () => {
    let t: TestStack;
    let client: Oblien;
    let images: TestImages | undefined;
    beforeAll(async () => {
      if (variant.kind === 'sandbox') images = await makeTestImages();
      t = await startTestStack(variant.kind, SLOT, images ? { imagesDir: `${images.dir}/store` } : {});
      client = new Oblien({ clientId: t.client.clientId, clientSecret: t.client.clientSecret, baseUrl: t.url });
    }, 300_000);
    afterAll(async () => {
      await t?.close();
      await images?.close();
    }, 120_000);

    it('images.list() answers the catalog shape; search and category filter it', async () => {
      const all = (await client.workspaces.images.list()) as Json;
      expect(all.success).toBe(true);
      expect(all.categories).toEqual(expect.arrayContaining([{ id: 'os', label: expect.any(String) }]));
      for (const image of all.images) {
        expect(image).toMatchObject({
          id: expect.any(String),
          image: expect.any(String),
          label: expect.any(String),
          desc: expect.any(String),
        });
        expect(all.categories.map((c: Json) => c.id)).toContain(image.category);
      }
      expect(all.images.map((i: Json) => i.image)).toContain('host');
      const os = (await client.workspaces.images.list({ category: 'os', search: 'HOST' })) as Json;
      expect(os.images.map((i: Json) => i.id)).toEqual(['host']);
      expect(((await client.workspaces.images.list({ category: 'all' })) as Json).images.length).toBe(all.images.length);
      expect(((await client.workspaces.images.list({ category: 'database' })) as Json).images).toEqual([]);
    });

    if (variant.kind !== 'sandbox') return;

    it('create({ image }) of an image the store lacks: provisioning while it is pulled, then ready', { timeout: 120_000 }, async () => {
      const ref = await (images as TestImages).push('official/app:1');
      const ws = (await client.workspaces.create({ ...variant.workspace, image: ref } as never)) as Json;
      expect(ws).toMatchObject({ ready: true, image: ref, status: 'running', provisioning: null });
      const listed = (await client.workspaces.images.list({ search: 'official/app' })) as Json;
      expect(listed.images).toEqual([expect.objectContaining({ image: ref, source: 'pulled', category: 'custom' })]);
      // The second create finds it in the store: ready in the create's own answer, no polling.
      const again = (await client.workspaces.create({ ...variant.workspace, image: ref } as never)) as Json;
      expect(again.ready).toBe(true);
      await client.workspaces.delete(ws.id);
      await client.workspaces.delete(again.id);
    });

    it('a pull that fails is a 422 from the SDK with the error; retryCreation then provisions it', { timeout: 120_000 }, async () => {
      const ref = `${(images as TestImages).registry.host}/official/later:1`;
      const err = (await client.workspaces.create({ ...variant.workspace, image: ref } as never).catch((e: unknown) => e)) as Json;
      expect(err).toMatchObject({ status: 422, code: 'not_found' });
      expect(err.message).toContain('official/later');
      const id = err.details?.workspace_id as string;
      expect(id).toMatch(/^ws_/);
      await (images as TestImages).push('official/later:1');
      const retried = (await client.workspaces.retryCreation(id)) as Json;
      expect(retried.provisioning).toMatchObject({ state: 'running' });
      const ready = (await client.workspaces.waitUntilReady(id)) as Json;
      expect(ready).toMatchObject({ id, ready: true, status: 'running' });
      await client.workspaces.delete(id);
    });
  });
}
