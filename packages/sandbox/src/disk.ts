import { constants, existsSync } from 'node:fs';
import { chmod, chown, copyFile, lchown, lstat, mkdir, open, realpath, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { IdRange } from './id-ranges.js';
import type { ImageInfo } from './images/index.js';
import { mountedPaths } from './mounts.js';
import { run } from './run-command.js';
import { settled } from './settled.js';
import { detachRoot, idmapMounts, idmapShift, NS_HELPER, switchRoot } from './userns.js';

/**
 * A workspace's writable layer lives on its own ext4 file system in a sparse
 * image file of the workspace's disk size, loop-mounted. That is the disk
 * quota: a full workspace gets ENOSPC from its own file system, and the host
 * loses at most the image's size.
 *
 * The image's layers below are shared by every workspace (and every image that has them) and never shifted:
 * each slot mounts an idmapped, read-only view of the directory holding them (one view for all the layers of
 * the store, through its user namespace), so a file owned by k in a layer shows as base + k on the host and
 * as k inside. Copy-up keeps that owner, so the upper layer holds ids of the workspace's range only.
 */
export interface DiskLayout {
  /** The sparse ext4 image. */
  image: string;
  /** Where the image is mounted (holds `upper/` and `work/`; its root is owned by the range's root). */
  mountPoint: string;
  /** The slot's idmapped views: `lower<i>` (the directories holding the image's layers) and `bind<i>` (its host binds). */
  idmapDir: string;
  /**
   * The directory holding the root's mount point: outside the data directory, because runc mounts the root
   * as the workspace's root (the range's base), which must be able to reach it (see `prepareRootsDir`).
   * Owned by root with the range's group, mode 0710: no other host user can enter it.
   */
  rootDir: string;
  /** Where the overlay (the workspace's root file system) is mounted. */
  rootfs: string;
  /**
   * A host file holding a bind of the agent's log for a moment while a running container's disk is replaced
   * (`replaceRunningDisk`): its agent writes on to the log of the disk it was started with.
   */
  logHold: string;
}

export function diskLayout(workspaceDir: string, rootDir: string): DiskLayout {
  return {
    image: path.join(workspaceDir, 'disk.ext4'),
    mountPoint: path.join(workspaceDir, 'disk'),
    idmapDir: path.join(workspaceDir, 'idmap'),
    rootDir,
    rootfs: path.join(rootDir, 'rootfs'),
    logHold: path.join(workspaceDir, 'agent-log-hold'),
  };
}

/** The idmapped view of the image's i-th host bind (bound into the container in place of its source). */
export function idmappedBind(layout: DiskLayout, i: number): string {
  return path.join(layout.idmapDir, `bind${i}`);
}

/**
 * Makes the directories above the slots' root directories traversable (0711: entered, never listed) by the
 * workspaces' roots, which are host users without rights on root's directories.
 */
export async function prepareRootsDir(dir: string): Promise<void> {
  const chain: string[] = [];
  for (let d = dir; d !== path.dirname(d) && d !== '/run'; d = path.dirname(d)) chain.unshift(d);
  for (const d of chain) {
    await mkdir(d, { recursive: true, mode: 0o711 });
    await chmod(d, 0o711);
  }
}

/**
 * Creates the image file and its file system (lazy inode tables: a few ms even for GiBs), its root owned by the
 * range's root. With `poolFile` the image is made there (the disk pool, where it can be cloned in constant time:
 * snapshots/disk-pool.ts) and `layout.image` is a symlink to it.
 */
export async function createDisk(
  layout: DiskLayout,
  sizeMb: number,
  range: IdRange,
  poolFile?: string,
  /** An empty disk of that size in the pool (disk-template.ts): cloned instead of a mkfs. */
  template?: string,
): Promise<void> {
  if (poolFile !== undefined) await symlink(poolFile, layout.image);
  if (poolFile !== undefined && template !== undefined) {
    // Shares the template's blocks (one ioctl; fails rather than copy). Its root's owner is set at mount.
    await copyFile(template, poolFile, constants.COPYFILE_FICLONE_FORCE | constants.COPYFILE_EXCL);
    return;
  }
  const file = await open(poolFile ?? layout.image, 'wx', 0o600);
  try {
    await file.truncate(sizeMb * 1024 * 1024);
  } finally {
    await file.close();
  }
  await makeExt4(layout.image, range.base);
}

/** Makes the ext4 file system of a disk in `file` (sized already), its root owned by `owner` (uid and gid). */
export async function makeExt4(file: string, owner: number): Promise<void> {
  // -m 0: no blocks reserved for root (the workspace's user is root; the quota is the whole size). Lazy inode
  // tables: a few ms even for GiBs.
  const rootOwner = `root_owner=${owner}:${owner}`;
  await run(['mkfs.ext4', '-q', '-F', '-m', '0', '-E', `lazy_itable_init=1,lazy_journal_init=1,nodiscard,${rootOwner}`, file]);
}

/**
 * The idmapped views a slot needs for the image's layers: one per directory holding layers (the store's
 * `layers/` for every pulled layer, a builtin image's own directory), and each layer's path through them.
 */
export function layerViews(layout: DiskLayout, image: ImageInfo): { views: Array<{ source: string; target: string }>; lowers: string[] } {
  const views: Array<{ source: string; target: string }> = [];
  const lowers = image.layers.map((layer) => {
    const parent = path.dirname(layer);
    let view = views.find((v) => v.source === parent);
    if (!view) {
      view = { source: parent, target: path.join(layout.idmapDir, `lower${views.length}`) };
      views.push(view);
    }
    return path.join(view.target, path.basename(layer));
  });
  return { views, lowers };
}

/** Where the disk's image really is: the pool's file a symlink names, or the image itself. */
export async function diskFile(layout: DiskLayout): Promise<string> {
  return (await lstat(layout.image)).isSymbolicLink() ? realpath(layout.image) : layout.image;
}

/** The writable, idmapped view of a disk whose owners are another range's (see `mountRoot`). */
function shiftedDiskView(layout: DiskLayout): string {
  return path.join(layout.idmapDir, 'disk');
}

/**
 * Mounts the disk, the idmapped views of the image's layers (through the slot's user namespace, `usernsFile`)
 * and the overlay root (the layers below, top first; the disk's upper layer on top). Idempotent.
 *
 * `diskBase` is the range the disk's owners are written in: the slot's own, unless the disk was cloned from
 * another workspace's (a fork, a restored snapshot of a fork's parent). Then the upper layer and its work
 * directory are reached through a writable idmapped view of the disk mapping that range onto the slot's, so
 * the clone is used as it is, with no walk over its files: on disk its owners stay in `diskBase`'s range.
 */
export async function mountRoot(
  layout: DiskLayout,
  image: ImageInfo,
  range: IdRange,
  usernsFile: string,
  diskBase: number = range.base,
  /** Resolves once the user namespace is pinned at `usernsFile` (made meanwhile): the disk is mounted before. */
  usernsReady?: Promise<unknown>,
): Promise<void> {
  const mounted = await mountedPaths();
  const layers = layerViews(layout, image);
  // The disk with its upper layer, the image's views and the root's directory do not need each other: made at once.
  const disk = (async () => {
    await mkdir(layout.mountPoint, { recursive: true, mode: 0o700 });
    // Through a loop device released by the unmount (autoclear): ns-helper disk, as `mount -o loop,noatime`.
    if (!mounted.has(layout.mountPoint)) await run([NS_HELPER, 'disk', layout.image, layout.mountPoint]);
    // The disk's root is owned by its range's root (a disk cloned from a template is made owned by host root).
    await lchown(layout.mountPoint, diskBase, diskBase);
    await mkdir(path.join(layout.mountPoint, 'upper'), { recursive: true, mode: 0o755 });
    await mkdir(path.join(layout.mountPoint, 'work'), { recursive: true, mode: 0o700 });
    // The upper layer's root is the workspace's `/`: owned by its root.
    await lchown(path.join(layout.mountPoint, 'upper'), diskBase, diskBase);
    await lchown(path.join(layout.mountPoint, 'work'), diskBase, diskBase);
    if (diskBase === range.base) return layout.mountPoint;
    const view = shiftedDiskView(layout);
    if (!mounted.has(view)) {
      await mkdir(view, { recursive: true, mode: 0o700 });
      await usernsReady;
      await idmapShift(diskBase, range.base, range.size, 'rw', [{ source: layout.mountPoint, target: view }]);
    }
    return view;
  })();
  const views = (async () => {
    const missing = [...layers.views, ...image.hostBinds.map((b, i) => ({ source: b.source, target: idmappedBind(layout, i) }))].filter(
      (v) => !mounted.has(v.target),
    );
    for (const v of missing) await mkdir(v.target, { recursive: true, mode: 0o755 });
    await usernsReady;
    await idmapMounts(usernsFile, missing);
  })();
  const rootDir = (async () => {
    await mkdir(layout.rootDir, { recursive: true, mode: 0o710 });
    await chown(layout.rootDir, 0, range.base);
    await chmod(layout.rootDir, 0o710);
    await mkdir(layout.rootfs, { recursive: true, mode: 0o755 });
  })();
  await settled([disk, views, rootDir]);
  const top = await disk;
  const upper = path.join(top, 'upper');
  const work = path.join(top, 'work');
  if (!mounted.has(layout.rootfs)) {
    // Through the new mount API (one `lowerdir+` per layer): mount(2)'s options are limited to a page.
    await run([NS_HELPER, 'overlay', layout.rootfs, upper, work, ...layers.lowers]);
  }
}

/** The agent's log on the disk (outside the upper layer: not visible inside). */
export function diskLog(layout: DiskLayout): string {
  return path.join(layout.mountPoint, 'agent.log');
}

/**
 * Gives a running container (first process `pid`, started on the slot's own disk: a warm pool's) the disk that
 * `cloneInto` writes to the slot's disk file (a fork's clone), as its root, without stopping it. On the host the
 * old overlay and disk are unmounted and the new disk is mounted as `mountRoot` mounts any (idmapped view of
 * `diskBase`'s owners included); then the container's root is switched (`switchRoot`). Its processes keep
 * writing their output to the old disk's log (an open file): that file is bound over the new disk's log path,
 * where the driver reads the agent's messages, until the container's next start. A failure leaves the slot to
 * be removed whole (`unmountRoot` knows every mount made here).
 */
export async function replaceRunningDisk(
  layout: DiskLayout,
  image: ImageInfo,
  range: IdRange,
  usernsFile: string,
  diskBase: number,
  pid: number,
  cloneInto: () => Promise<void>,
): Promise<void> {
  // The host's mounts of the old root go (the container's are its namespace's), its log kept reachable by a bind
  // first; the old disk is detached lazily: the log its processes hold open keeps it until they end.
  await detachRoot(layout.rootfs, layout.mountPoint, diskLog(layout), layout.logHold);
  await cloneInto();
  await mountRoot(layout, image, range, usernsFile, diskBase);
  await switchRoot(pid, layout.rootfs, { hold: layout.logHold, target: diskLog(layout) });
}

/** Unmounts the overlay, the disk (which frees its loop device) and the idmapped views. Idempotent. */
export async function unmountRoot(layout: DiskLayout): Promise<void> {
  const mounted = await mountedPaths();
  const views = [...mounted].filter((p) => p.startsWith(`${layout.idmapDir}/`));
  // A log bound over the disk's (`replaceRunningDisk`) before the disk under it.
  for (const target of [layout.rootfs, layout.logHold, diskLog(layout), layout.mountPoint, ...views]) {
    if (!mounted.has(target)) continue;
    const res = await run(['umount', target], { allowFailure: true });
    // A mount still busy (a process that escaped the container's kill) is detached rather than left behind.
    if (res.code !== 0) await run(['umount', '-l', target]);
  }
}

/** Unmounts and deletes everything the disk consists of, and the root's directory. */
export async function removeDisk(layout: DiskLayout): Promise<void> {
  await unmountRoot(layout);
  const mounted = [...(await mountedPaths())];
  for (const p of [layout.rootDir, layout.mountPoint, layout.idmapDir]) {
    // Never recurse into something still mounted (it could be anything).
    const inside = mounted.find((m) => m === p || m.startsWith(`${p}/`));
    if (inside) throw new Error(`${inside} is still mounted`);
    if (existsSync(p)) await rm(p, { recursive: true, force: true });
  }
  await rm(layout.logHold, { force: true });
  // A pool disk: the file the symlink names goes with it.
  const file = await diskFile(layout).catch(() => undefined);
  if (file !== undefined && file !== layout.image) await rm(file, { force: true });
  await rm(layout.image, { force: true });
}
