// `client.workspaces.images` of @cove/sdk: list on each driver; on the sandbox driver's real store, pull with
// progress, import from a file, a directory (sent as a tar) and bytes, get, remove, and the errors.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { APIError, type ImageProgress, NotFoundError, Oblien } from '@cove/sdk';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from '../../api/test/helpers/driver-stack.js';
import { makeTestImages, type TestImages } from '../../api/test/helpers/test-images.js';

const SLOT = 53;

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`@cove/sdk images (${variant.title})`, () => {
    let t: TestStack;
    let images: TestImages | undefined;
    /** As the operator account (`default`), which may import and remove. */
    let client: Oblien;
    beforeAll(async () => {
      if (variant.kind === 'sandbox') images = await makeTestImages();
      t = await startTestStack(variant.kind, SLOT, images ? { imagesDir: `${images.dir}/store` } : {});
      const op = await t.newClient('default');
      client = new Oblien({ ...op, baseURL: t.url });
    }, 300_000);
    afterAll(async () => {
      await t?.close();
      await images?.close();
    }, 120_000);

    it('lists with filters; get of a missing image is NotFoundError', async () => {
      const { images: all, categories } = await client.workspaces.images.list();
      expect(all.map((i) => i.image)).toContain('host');
      expect(categories.map((c) => c.id)).toContain('custom');
      expect((await client.workspaces.images.list({ search: 'nothing-like-it' })).images).toEqual([]);
      expect((await client.workspaces.images.get('host')).source).toBe('builtin');
      await expect(client.workspaces.images.get('example.com/none:1')).rejects.toBeInstanceOf(NotFoundError);
    });

    if (variant.kind !== 'sandbox') return;
    const imgs = () => images as TestImages;

    it('pull reports progress and returns the image; a failing pull throws the server error', async () => {
      const ref = await imgs().push('sdk/app:1');
      const steps: ImageProgress[] = [];
      const image = await client.workspaces.images.pull(ref, { onProgress: (p) => steps.push(p) });
      expect(image).toMatchObject({ name: ref, source: 'pulled', config: { working_dir: '/srv/app' } });
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.map((s) => s.phase)).toContain('downloading');
      // Without a callback too (the stream is read all the same).
      expect((await client.workspaces.images.pull(ref)).id).toBe(image.id);
      const failed = await client.workspaces.images.pull(`${imgs().registry.host}/sdk/none:1`).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(NotFoundError);
      const bad = await client.workspaces.images.pull('Bad Ref').catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(APIError);
      expect((bad as APIError).status).toBe(400);
    });

    it('imports a file, a directory (as a tar), and bytes; removes by reference', async () => {
      const [fromFile] = await client.workspaces.images.import(await imgs().dockerArchive('sdk/saved:1'));
      expect(fromFile).toMatchObject({ image: 'sdk/saved:1', source: 'imported' });
      const [fromDir] = await client.workspaces.images.import(imgs().layout, { name: 'sdk/dir:1' });
      expect(fromDir).toMatchObject({ image: 'sdk/dir:1', id: fromFile?.id });
      const [fromBytes] = await client.workspaces.images.import(new Uint8Array(await readFile(await imgs().ociTar())), {
        name: 'sdk/bytes:1',
      });
      expect(fromBytes?.image).toBe('sdk/bytes:1');
      expect(await client.workspaces.images.remove('sdk/bytes:1')).toEqual({ success: true, image: 'sdk/bytes:1', deleted: true });
      await expect(client.workspaces.images.get('sdk/bytes:1')).rejects.toBeInstanceOf(NotFoundError);
      // Not an operator: refused.
      const alice = new Oblien({ ...t.client, baseURL: t.url });
      const refused = await alice.workspaces.images.import(imgs().layout, { name: 'sdk/nope:1' }).catch((e: unknown) => e);
      expect((refused as APIError).status).toBe(403);
    });
  });
}

describe('@cove/sdk images in a browser bundle', () => {
  it('bundles for the browser: the Node-only path import is not pulled in', async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      external: ['ws'],
      write: false,
      logLevel: 'silent',
    });
    const text = bundle.outputFiles.map((f) => f.text).join('');
    expect(text).toContain('/workspace/images/pull');
    expect(text).not.toMatch(/from ["']node:fs/);
  });
});
