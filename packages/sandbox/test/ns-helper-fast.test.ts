// The namespace helper's calls that replaced other tools on a create's path (native/ns-helper.c): `disk` (a loop
// mount without mount(8)) and `userns` making the network namespace it owns in the same process.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountedPaths } from '../src/mounts.js';
import { run } from '../src/run-command.js';
import { NS_HELPER } from '../src/userns.js';
import { skipReason } from './helpers.js';

const skip = skipReason();

/** The loop devices backed by `file` (losetup -j). */
async function loopsOf(file: string): Promise<string[]> {
  const out = (await run(['losetup', '-j', file])).stdout.trim();
  return out === '' ? [] : out.split('\n');
}

describe.skipIf(skip)('ns-helper disk and userns with its network namespace', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cove-ns-helper-'));
  });

  afterAll(async () => {
    // Whatever a failed test left mounted goes (the last mounted first).
    const left = [...(await mountedPaths())].filter((m) => m.startsWith(`${dir}/`) || m.startsWith('/run/netns/cove-nstest-')).reverse();
    for (const m of left) await run(['umount', '-l', m], { allowFailure: true });
    for (const f of [`/run/netns/cove-nstest-${process.pid}`]) await rm(f, { force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('mounts an ext4 image through a loop device that the unmount releases', async () => {
    const image = path.join(dir, 'disk.ext4');
    const target = path.join(dir, 'mnt');
    const handle = await open(image, 'wx', 0o600);
    await handle.truncate(64 * 1024 * 1024);
    await handle.close();
    await run(['mkfs.ext4', '-q', '-F', image]);
    await mkdir(target);

    await run([NS_HELPER, 'disk', image, target]);
    const mount = (await run(['findmnt', '-n', '-o', 'FSTYPE,OPTIONS', target])).stdout;
    expect(mount).toMatch(/^ext4 /);
    expect(mount).toContain('noatime');
    expect(await loopsOf(image)).toHaveLength(1);
    // The file system is the image's (lost+found of a fresh mkfs).
    expect(existsSync(path.join(target, 'lost+found'))).toBe(true);

    await run(['umount', target]);
    // Autoclear: the device goes with the mount.
    expect(await loopsOf(image)).toEqual([]);
  });

  it('fails with a message naming the call on an image that is no file system, and leaves no loop device', async () => {
    const image = path.join(dir, 'junk.img');
    const target = path.join(dir, 'junk');
    const handle = await open(image, 'wx', 0o600);
    await handle.truncate(1024 * 1024);
    await handle.close();
    await mkdir(target);
    const res = await run([NS_HELPER, 'disk', image, target], { allowFailure: true });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`mount the disk on ${target}`);
    expect((await mountedPaths()).has(target)).toBe(false);
    expect(await loopsOf(image)).toEqual([]);
    const missing = await run([NS_HELPER, 'disk', path.join(dir, 'absent'), target], { allowFailure: true });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('absent');
  });

  it('makes the user namespace and a network namespace it owns in one call', async () => {
    const userns = path.join(dir, 'userns');
    const netns = `/run/netns/cove-nstest-${process.pid}`;
    await mkdir('/run/netns', { recursive: true });
    await run([NS_HELPER, 'userns', String(2 ** 30 + 65_536 * 16_000), '65536', userns, netns]);
    try {
      const mounted = await mountedPaths();
      expect(mounted.has(userns) && mounted.has(netns)).toBe(true);
      // Root of the user namespace administers the network namespace: only one it owns (as runc needs to join both).
      const inside = await run(['nsenter', `--user=${userns}`, `--net=${netns}`, 'ip', 'link', 'set', 'lo', 'up'], { allowFailure: true });
      expect(inside.code, inside.stderr).toBe(0);
      // The same through the host's network namespace (not owned by it) is refused: the check above means something.
      const host = await run(['nsenter', `--user=${userns}`, `--net=/proc/${process.pid}/ns/net`, 'ip', 'link', 'set', 'lo', 'up'], {
        allowFailure: true,
      });
      expect(host.code).not.toBe(0);
      expect((await stat(netns)).isFile()).toBe(true);
    } finally {
      await run(['umount', netns], { allowFailure: true });
      await run(['umount', userns], { allowFailure: true });
      await rm(netns, { force: true });
    }
  });
});
