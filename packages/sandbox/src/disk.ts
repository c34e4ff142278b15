import { existsSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { mountedPaths } from './mounts.js';
import { run } from './run-command.js';

/**
 * A workspace's writable layer lives on its own ext4 file system in a sparse
 * image file of the workspace's disk size, loop-mounted. That is the disk
 * quota: a full workspace gets ENOSPC from its own file system, and the host
 * loses at most the image's size.
 */
export interface DiskLayout {
  /** The sparse ext4 image. */
  image: string;
  /** Where the image is mounted (holds `upper/` and `work/`). */
  mountPoint: string;
  /** Where the overlay (the workspace's root file system) is mounted. */
  rootfs: string;
}

export function diskLayout(workspaceDir: string): DiskLayout {
  return {
    image: path.join(workspaceDir, 'disk.ext4'),
    mountPoint: path.join(workspaceDir, 'disk'),
    rootfs: path.join(workspaceDir, 'rootfs'),
  };
}

/** Creates the image file and its file system (lazy inode tables: a few ms even for GiBs). */
export async function createDisk(layout: DiskLayout, sizeMb: number): Promise<void> {
  const file = await open(layout.image, 'wx', 0o600);
  try {
    await file.truncate(sizeMb * 1024 * 1024);
  } finally {
    await file.close();
  }
  // -m 0: no blocks reserved for root (the workspace's user is root; the quota is the whole size).
  await run(['mkfs.ext4', '-q', '-F', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', layout.image]);
}

/** Mounts the disk and the overlay root (image below, the disk's upper layer on top). Idempotent. */
export async function mountRoot(layout: DiskLayout, lowerDir: string): Promise<void> {
  const mounted = await mountedPaths();
  await mkdir(layout.mountPoint, { recursive: true, mode: 0o700 });
  await mkdir(layout.rootfs, { recursive: true, mode: 0o755 });
  if (!mounted.has(layout.mountPoint)) {
    // `loop` allocates a loop device that is released by the unmount (autoclear).
    await run(['mount', '-t', 'ext4', '-o', 'loop,noatime', layout.image, layout.mountPoint]);
  }
  const upper = path.join(layout.mountPoint, 'upper');
  const work = path.join(layout.mountPoint, 'work');
  await mkdir(upper, { recursive: true, mode: 0o755 });
  await mkdir(work, { recursive: true, mode: 0o700 });
  if (!mounted.has(layout.rootfs)) {
    await run(['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerDir},upperdir=${upper},workdir=${work}`, layout.rootfs]);
  }
}

/** Unmounts the overlay then the disk (which frees its loop device). Idempotent. */
export async function unmountRoot(layout: DiskLayout): Promise<void> {
  const mounted = await mountedPaths();
  for (const target of [layout.rootfs, layout.mountPoint]) {
    if (!mounted.has(target)) continue;
    const res = await run(['umount', target], { allowFailure: true });
    // A mount still busy (a process that escaped the container's kill) is detached rather than left behind.
    if (res.code !== 0) await run(['umount', '-l', target]);
  }
}

/** Unmounts and deletes everything the disk consists of. */
export async function removeDisk(layout: DiskLayout): Promise<void> {
  await unmountRoot(layout);
  const mounted = await mountedPaths();
  for (const p of [layout.rootfs, layout.mountPoint]) {
    // Never recurse into something still mounted (it could be anything).
    if (mounted.has(p)) throw new Error(`${p} is still mounted`);
    if (existsSync(p)) await rm(p, { recursive: true, force: true });
  }
  await rm(layout.image, { force: true });
}
