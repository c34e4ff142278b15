import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageProgress } from '@cove/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/run-command.js';
import { useTempStore } from './helpers/image-store.js';
import { busyboxRoot, pushImage, writeOciImage } from './helpers/oci-layout.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { execIn, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 61;
const skip = skipReason();

/** The registry's own file of a blob (distribution's filesystem storage). */
function registryBlob(registryDir: string, digest: string): string {
  const hex = digest.slice(7);
  return path.join(registryDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

describe.skipIf(skip)(`images pulled from a registry${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTempStore();
  let registry: TestRegistry;
  let d: TestDriver;
  let base: Awaited<ReturnType<typeof writeOciImage>>;
  let app: Awaited<ReturnType<typeof writeOciImage>>;

  beforeAll(async () => {
    registry = await startRegistry();
    const root = t.scratch('root');
    await busyboxRoot(root);
    await mkdir(path.join(root, 'srv/app/old'), { recursive: true });
    await writeFile(path.join(root, 'srv/app/old/stale'), 'stale\n');
    await writeFile(path.join(root, 'etc/doomed'), 'x\n');
    await writeFile(path.join(root, 'srv/app/owned'), 'mine\n');
    await run(['chown', '-R', '1000:1000', path.join(root, 'srv/app')]);
    const layout = t.scratch('layout');
    base = await writeOciImage(layout, 'base', [{ dir: root }], { Env: ['PATH=/bin', 'GREETING=hello'] });
    // Three layers: the base, a file deleted and a directory made opaque, a file added.
    app = await writeOciImage(
      layout,
      'app',
      [
        { dir: root },
        {
          entries: [
            { path: 'etc/.wh.doomed' },
            { path: 'srv/app/old/', type: 'dir', uid: 1000, gid: 1000 },
            { path: 'srv/app/old/.wh..wh..opq' },
            { path: 'srv/app/old/fresh', data: 'fresh\n' },
          ],
        },
        { entries: [{ path: 'srv/app/hello.txt', data: 'hello from a layer\n', uid: 1000, gid: 1000 }] },
      ],
      { Env: ['PATH=/bin', 'MODE=app'], WorkingDir: '/srv/app', User: 'app', Entrypoint: ['/bin/sh'], Cmd: ['-c', 'echo hi'] },
    );
    await pushImage(layout, 'base', `${registry.host}/test/base:1`);
    await pushImage(layout, 'app', `${registry.host}/test/app:1`);
    d = await openTestDriver(SLOT, { imagesDir: t.dir });
  }, 300_000);

  afterAll(async () => {
    await d?.close();
    await registry?.stop();
  }, 120_000);

  it('pulls a multi-layer image from a loopback registry (plain HTTP) with progress, and lists it', async () => {
    const steps: ImageProgress[] = [];
    const ref = `${registry.host}/test/app:1`;
    // Concurrent pulls of one reference share one; a caller that gives up does not cancel it for the others.
    const quitter = new AbortController();
    const first = d.driver.images.pull(ref, { signal: quitter.signal });
    const second = d.driver.images.pull(ref, { onProgress: (p) => steps.push(p) });
    quitter.abort(new Error('gave up'));
    await expect(first).rejects.toThrow('gave up');
    const summary = await second;
    expect(summary).toMatchObject({
      id: app.config,
      name: ref,
      references: [ref],
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      source: 'pulled',
      layers: 3,
      config: { env: ['PATH=/bin', 'MODE=app'], workingDir: '/srv/app', user: 'app', entrypoint: ['/bin/sh'], cmd: ['-c', 'echo hi'] },
    });
    expect(summary.size).toBeGreaterThan(1_000_000);
    expect(steps[0]).toEqual({ phase: 'resolving', message: `pulling ${ref}` });
    expect(steps.filter((s) => s.phase === 'downloading' && s.layer).map((s) => s.layer)).toEqual(expect.arrayContaining(app.blobs));
    expect(steps.filter((s) => s.phase === 'unpacking').length).toBe(3);
    expect(steps.at(-1)).toEqual({ phase: 'done', message: `pulled ${ref}` });
    expect((await d.driver.images.list()).map((i) => i.name)).toEqual(['host', 'debian:12', ref]);
    expect(await d.driver.images.get(`${registry.host}/test/app`)).toBeUndefined();
    expect((await d.driver.images.get(app.config))?.name).toBe(ref);
  }, 120_000);

  it('does not fetch layers it already has', async () => {
    // The base layer is gone from the registry: pulling an image that has it works only if it is not fetched.
    await rm(registryBlob(registry.storage, base.blobs[0]!));
    const summary = await d.driver.images.pull(`${registry.host}/test/base:1`);
    expect(summary).toMatchObject({
      id: base.config,
      layers: 1,
      config: { env: ['PATH=/bin', 'GREETING=hello'], workingDir: null, user: null },
    });
  }, 120_000);

  it('runs a workspace from the pulled image: layers stacked, whiteouts and opaque directories applied, owners kept', async () => {
    const s = spec({ image: `${registry.host}/test/app:1` });
    await d.driver.create(s);
    await d.driver.start(s);
    const res = await execIn(
      d.driver,
      s.id,
      'cat /srv/app/hello.txt; ls /srv/app/old; test -e /etc/doomed || echo doomed-gone; stat -c %u:%g /srv/app/owned /srv/app/hello.txt; echo x > /srv/app/new && cat /srv/app/new',
    );
    expect(res).toEqual({ code: 0, stdout: 'hello from a layer\nfresh\ndoomed-gone\n1000:1000\n1000:1000\nx\n', stderr: '' });
    // The image is in use: removing it is a conflict.
    await expect(d.driver.images.remove(`${registry.host}/test/app:1`)).rejects.toMatchObject({ code: 'conflict' });
    await d.driver.destroy(s.id);
  }, 120_000);

  it('an image the store does not have is not_found, naming the reference; a malformed one bad_request', async () => {
    await expect(d.driver.create(spec({ image: `${registry.host}/test/nope:1` }))).rejects.toMatchObject({
      code: 'not_found',
      message: `image '${registry.host}/test/nope:1' is not in the image store (pull or import it first)`,
    });
    await expect(d.driver.create(spec({ image: 'UPPER/case' }))).rejects.toMatchObject({ code: 'bad_request' });
    await expect(d.driver.images.pull(`${registry.host}/test/nope:1`)).rejects.toMatchObject({ code: 'not_found' });
  }, 60_000);

  it('a workspace keeps its image when the tag moves; the image stays, unlisted, until the workspace goes', async () => {
    const ref = `${registry.host}/test/moving:1`;
    const layout = t.scratch('moving');
    const v1 = await writeOciImage(layout, 'v1', [{ dir: t.scratch('root') }, { entries: [{ path: 'version', data: '1\n' }] }]);
    const v2 = await writeOciImage(layout, 'v2', [{ dir: t.scratch('root') }, { entries: [{ path: 'version', data: '2\n' }] }]);
    await pushImage(layout, 'v1', ref);
    await d.driver.images.pull(ref);
    const s = spec({ image: ref });
    await d.driver.create(s);
    await pushImage(layout, 'v2', ref);
    expect((await d.driver.images.pull(ref)).id).toBe(v2.config);
    await d.driver.start(s);
    expect((await execIn(d.driver, s.id, 'cat /version')).stdout).toBe('1\n');
    // v1 lost its name but a workspace uses it: kept, unlisted.
    expect((await d.driver.images.list()).filter((i) => i.id === v1.config)).toEqual([]);
    const v1Layer = path.join(t.dir, 'layers', v1.diffIds[1]!.slice(7));
    expect(existsSync(v1Layer)).toBe(true);
    await d.driver.destroy(s.id);
    expect(existsSync(v1Layer)).toBe(false);
    expect(await d.driver.images.get(v1.config)).toBeUndefined();

    // A forced removal of an image in use: gone from the list at once, its layers once the workspace goes.
    const w = spec({ image: ref });
    await d.driver.create(w);
    await expect(d.driver.images.remove(ref)).rejects.toMatchObject({
      code: 'conflict',
      message: `image '${ref}' is used by a workspace: delete the workspace first, or force the removal`,
    });
    await d.driver.images.remove(ref, { force: true });
    expect(await d.driver.images.get(ref)).toBeUndefined();
    const v2Layer = path.join(t.dir, 'layers', v2.diffIds[1]!.slice(7));
    expect(existsSync(v2Layer)).toBe(true);
    await d.driver.start(w);
    expect((await execIn(d.driver, w.id, 'cat /version')).stdout).toBe('2\n');
    await d.driver.destroy(w.id);
    expect(existsSync(v2Layer)).toBe(false);
  }, 120_000);

  it('removes images and collects the layers and blobs no image has', async () => {
    await d.driver.images.remove(`${registry.host}/test/app:1`);
    // The base layer stays: test/base:1 has it.
    const layers = await readdir(path.join(t.dir, 'layers'));
    expect(layers).toEqual([base.diffIds[0]!.slice(7)]);
    await d.driver.images.remove(base.config);
    expect(await readdir(path.join(t.dir, 'layers'))).toEqual([]);
    expect(await readdir(path.join(t.dir, 'oci/blobs/sha256'))).toEqual([]);
    expect((await d.driver.images.list()).map((i) => i.name)).toEqual(['host', 'debian:12']);
    await expect(d.driver.images.remove(base.config)).rejects.toMatchObject({ code: 'not_found' });
    await expect(d.driver.images.remove('host')).rejects.toMatchObject({ code: 'bad_request' });
  }, 60_000);
});
