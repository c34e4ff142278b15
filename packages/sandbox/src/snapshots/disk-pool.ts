// The disk pool: where the workspaces' disk images live so that a snapshot or a fork copies one in constant
// time. ext4 (this host's, and Debian's default) cannot share blocks between files; XFS can (reflink). So
// the pool is an XFS file system in a sparse file of the data directory, loop-mounted: each workspace's
// ext4 image is a file in it, and `cp --reflink=always` clones one by sharing its extents (milliseconds,
// whatever it holds; blocks are copied only when either side writes them later). Where mkfs.xfs is missing
// the pool is the data directory itself and clones are sparse copies (time and space in proportion to the
// data): the driver says so at open and in `constantTimeFork`.
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, rmdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { mountedPaths } from '../mounts.js';
import { run } from '../run-command.js';

/** The smallest pool made (its virtual size; the host pays only for what is written). */
const MIN_POOL_BYTES = 64 * 1024 ** 3;

export interface DiskPool {
  /** Where the pool's files are: `<pool>/workspaces`, `<pool>/snapshots`, `<pool>/tmp`. */
  readonly dir: string;
  /** Whether `clone` shares blocks (constant time) rather than copying them. */
  readonly reflink: boolean;
}

function poolFile(dataDir: string): string {
  return path.join(dataDir, 'disks.xfs');
}

function poolMount(dataDir: string): string {
  return path.join(dataDir, 'disks');
}

async function hasCommand(name: string): Promise<boolean> {
  return (await run(['sh', '-c', `command -v ${name}`], { allowFailure: true })).code === 0;
}

/**
 * Mounts the data directory's pool, making it on first use. Its virtual size is the size of the file system
 * holding the data directory (at least 64 GiB): it never limits the workspaces before the host's disk does,
 * and the file stays as sparse as what is written (mounted with `discard`, freed blocks are given back to the
 * host). Idempotent (a restart mounts it again).
 */
export async function openDiskPool(dataDir: string, log: Logger): Promise<DiskPool> {
  const file = poolFile(dataDir);
  const dir = poolMount(dataDir);
  if (!(await mountedPaths()).has(dir)) {
    if (!existsSync(file)) {
      if (!(await hasCommand('mkfs.xfs'))) {
        log.warn('mkfs.xfs is missing (apt-get install xfsprogs): snapshots and forks copy whole disks instead of cloning them');
        const fallback = path.join(dataDir, 'disk-copies');
        await prepare(fallback);
        return { dir: fallback, reflink: false };
      }
      const host = await statfs(dataDir);
      const bytes = Math.max(MIN_POOL_BYTES, host.blocks * host.bsize);
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.truncate(bytes);
      } finally {
        await handle.close();
      }
      await run(['mkfs.xfs', '-q', '-m', 'reflink=1', file]);
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await run(['mount', '-t', 'xfs', '-o', 'loop,discard,noatime', file, dir]);
  }
  await prepare(dir);
  return { dir, reflink: true };
}

async function prepare(dir: string): Promise<void> {
  for (const sub of ['workspaces', 'snapshots', 'tmp']) await mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
  // Clones a crash left half-made, and what was mounted from them (an archive being written mounts its clone):
  // the last mounted first (an overlay before the directories under it), detached lazily if something still
  // holds it; a loop mount frees its device.
  const tmp = path.join(dir, 'tmp');
  const mounted = [...(await mountedPaths())].filter((m) => m.startsWith(`${tmp}/`)).reverse();
  for (const m of mounted) {
    if ((await run(['umount', m], { allowFailure: true })).code !== 0) await run(['umount', '-l', m], { allowFailure: true });
  }
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(dir, 'tmp'), { mode: 0o700 });
}

/** Unmounts and deletes the pool (with everything in it): `destroyAll`. */
export async function removeDiskPool(dataDir: string): Promise<void> {
  const dir = poolMount(dataDir);
  if ((await mountedPaths()).has(dir)) await run(['umount', dir]);
  await rmdir(dir).catch(() => {});
  await rm(poolFile(dataDir), { force: true });
  await rm(path.join(dataDir, 'disk-copies'), { recursive: true, force: true });
}

/** A slot's disk image in the pool. */
export function poolDisk(pool: DiskPool, slot: string): string {
  return path.join(pool.dir, 'workspaces', `${slot}.ext4`);
}

/**
 * Copies a disk image: a reflink clone in the pool (constant time), else a sparse copy. The source must not
 * change meanwhile (its file system frozen, or unmounted). The copy appears whole or not at all (made under
 * `tmp/`, renamed into place).
 */
export async function cloneDisk(pool: DiskPool, source: string, target: string): Promise<void> {
  const tmp = path.join(pool.dir, 'tmp', `${path.basename(target)}.${process.pid}.${Date.now()}`);
  try {
    const cloned = pool.reflink && (await run(['cp', '--reflink=always', '--', source, tmp], { allowFailure: true })).code === 0;
    // A disk outside the pool (a workspace of a version before it) is copied.
    if (!cloned) await run(['cp', '--sparse=always', '--', source, tmp], { timeoutMs: 60 * 60_000 });
    // Same file system (the pool's): a rename, replacing any file there.
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
