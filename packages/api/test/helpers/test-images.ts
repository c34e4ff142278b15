// Images for the tests of the image routes, SDK, CLI and official SDK: a busybox root (Debian's static
// busybox) with a file and a config, as an OCI layout, pushed to a registry on loopback or archived the ways
// `cove image import` takes (an OCI layout tar, a `docker save` tar). Built with the store's own test helpers.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../../sandbox/src/run-command.js';
import { busyboxRoot, pushImage, writeOciImage } from '../../../sandbox/test/helpers/oci-layout.js';
import { startRegistry, type TestRegistry } from '../../../sandbox/test/helpers/registry.js';

export interface TestImages {
  registry: TestRegistry;
  /** Scratch space (under /var/tmp: the disk), removed by `close`. */
  dir: string;
  /** The OCI layout holding the image as `app` (and nothing else). */
  layout: string;
  /** Pushes an image of its own (same layer, config naming it) to the registry as `<registry>/<name>` (`cove/app:1`); returns the reference. */
  push(name: string): Promise<string>;
  /** The image as a tar of its OCI layout directory. */
  ociTar(): Promise<string>;
  /** The image as `docker save` writes it, named `name` (skopeo's docker-archive). */
  dockerArchive(name: string): Promise<string>;
  close(): Promise<void>;
}

/** The config the test image sets (what a workspace of it gets). */
export const TEST_IMAGE_CONFIG = { Env: ['PATH=/bin', 'GREETING=hello from the image'], WorkingDir: '/srv/app' };

export async function makeTestImages(): Promise<TestImages> {
  const dir = await mkdtemp('/var/tmp/cove-api-images-');
  const registry = await startRegistry();
  try {
    const root = path.join(dir, 'root');
    await busyboxRoot(root);
    await run(['mkdir', '-p', path.join(root, 'srv/app')]);
    await writeFile(path.join(root, 'srv/app/hello.txt'), 'hello from a pulled layer\n');
    const layout = path.join(dir, 'layout');
    await writeOciImage(layout, 'app', [{ dir: root }], TEST_IMAGE_CONFIG);
    // The pushed images' own layout: `layout` keeps the one image an archive of it holds.
    const pushed = path.join(dir, 'pushed');
    return {
      registry,
      dir,
      layout,
      async push(name) {
        // Its own image (the config names it), on the same layer: removing one never touches another's name.
        await writeOciImage(pushed, name, [{ dir: root }], { ...TEST_IMAGE_CONFIG, Env: [...TEST_IMAGE_CONFIG.Env, `IMAGE=${name}`] });
        const ref = `${registry.host}/${name}`;
        await pushImage(pushed, name, ref);
        return ref;
      },
      async ociTar() {
        const file = path.join(dir, 'layout.tar');
        await run(['tar', '-C', layout, '-cf', file, '.']);
        return file;
      },
      async dockerArchive(name) {
        const file = path.join(dir, `docker-${name.replace(/[^a-z0-9]/g, '_')}.tar`);
        await rm(file, { force: true });
        await run(['skopeo', 'copy', '--quiet', `oci:${layout}:app`, `docker-archive:${file}:${name}`], { timeoutMs: 120_000 });
        return file;
      },
      async close() {
        await registry.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
