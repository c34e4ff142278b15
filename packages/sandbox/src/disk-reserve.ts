// Workspace disks are sparse: a 4 GiB disk costs the host only what is written to it. Unchecked, that overcommits
// the host's data volume, and once it is full a workspace's writes fail where nobody sees them: its ext4 sits on a
// loop device over a sparse file (in the XFS pool, itself a sparse file), so a write() that succeeded into the
// page cache is lost at writeback (EIO at best, at fsync). The policy: a disk is made only while the volume can
// hold every disk of the data directory filled to its size (what each has not written yet counts as reserved),
// unless overcommit is allowed. Within the reserve, a full disk is the workspace's own ENOSPC, at the write.
import { lstat, realpath, stat, statfs } from 'node:fs/promises';
import { AppError } from '@cove/protocol';

const MIB = 1024 * 1024;
/** Kept free beyond the reserve: the pool's and the store's metadata, the agent's logs, snapshots' first writes. */
const HEADROOM_BYTES = 256 * MIB;

/** A disk's size and what it already occupies (its image file's allocated blocks). */
async function diskUse(image: string): Promise<{ size: number; used: number } | undefined> {
  try {
    const file = (await lstat(image)).isSymbolicLink() ? await realpath(image) : image;
    const s = await stat(file);
    return { size: s.size, used: s.blocks * 512 };
  } catch {
    return undefined;
  }
}

export interface ReserveCheck {
  /** A directory on the host's data volume (the data directory). */
  dataDir: string;
  /** Every existing disk image of the data directory (workspaces and pooled slots). */
  images: string[];
  /** MiB of disks being made now, not on disk yet. */
  pendingMb: number;
  /** The new disk's size. */
  diskMb: number;
}

/** What the volume has and owes: free bytes, and what existing disks may still write. */
export async function diskReserve(dataDir: string, images: string[]): Promise<{ freeBytes: number; reservedBytes: number }> {
  const fs = await statfs(dataDir);
  let reservedBytes = 0;
  for (const image of images) {
    const use = await diskUse(image);
    if (use) reservedBytes += Math.max(0, use.size - use.used);
  }
  return { freeBytes: fs.bavail * fs.bsize, reservedBytes };
}

/** Refuses (507 insufficient_storage) a disk the host's volume could not hold once every disk is full. */
export async function checkDiskReserve(check: ReserveCheck): Promise<void> {
  const { freeBytes, reservedBytes } = await diskReserve(check.dataDir, check.images);
  const needBytes = (check.diskMb + check.pendingMb) * MIB + reservedBytes + HEADROOM_BYTES;
  if (needBytes <= freeBytes) return;
  const mb = (n: number) => Math.floor(n / MIB);
  throw new AppError(
    'insufficient_storage',
    `not enough space on the host's data volume for a ${check.diskMb} MiB disk: ${mb(freeBytes)} MiB free, ` +
      `${mb(reservedBytes + check.pendingMb * MIB)} MiB of it reserved for the disks of existing workspaces and ` +
      `${mb(HEADROOM_BYTES)} MiB kept free; free space, delete workspaces, ask for a smaller disk, or allow overcommit (COVE_DISK_OVERCOMMIT=1)`,
  );
}
