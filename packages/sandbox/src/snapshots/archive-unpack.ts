// Filling a new workspace from an archive: its upper layer is made from the archive's entries, by the image
// store's unpacker (hostile tarballs refused: `..`, paths through symlinks, links leaving the archive), then
// its owners, the ids inside, are moved into the workspace's range (k → base + k) as the unpacker leaves them.
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { TarError } from '@cove/archive';
import { AppError } from '@cove/protocol';
import { type DiskLayout, diskFile, unmountRoot } from '../disk.js';
import type { IdRange } from '../id-ranges.js';
import { unpackLayer } from '../images/unpack-layer.js';
import { run } from '../run-command.js';
import { shiftIds } from '../userns.js';

/**
 * Replaces the (empty) upper layer of a created, never started workspace with the archive's contents. The
 * root is unmounted first (its next start mounts it again). An archive larger than the disk is `bad_request`.
 */
export async function unpackIntoDisk(layout: DiskLayout, range: IdRange, archive: string, diskMb: number): Promise<void> {
  await unmountRoot(layout);
  await mkdir(layout.mountPoint, { recursive: true, mode: 0o700 });
  await run(['mount', '-t', 'ext4', '-o', 'loop,noatime', await diskFile(layout), layout.mountPoint]);
  const fresh = path.join(layout.mountPoint, 'upper.archive');
  try {
    await rm(fresh, { recursive: true, force: true });
    await mkdir(fresh, { mode: 0o755 });
    try {
      await unpackLayer(archive, fresh);
    } catch (err) {
      if (err instanceof TarError) throw new AppError('bad_request', `the archive cannot be used: ${err.message}`);
      // A sparse file's real size past what ext4 holds (16 TiB): the archive's, not the host's failure.
      if ((err as NodeJS.ErrnoException).code === 'EFBIG')
        throw new AppError('bad_request', 'the archive holds a file larger than a disk can');
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new AppError('bad_request', `the archive does not fit the workspace's disk (${diskMb} MiB)`);
      }
      throw err;
    }
    await shiftIds(range, fresh);
    await rm(path.join(layout.mountPoint, 'upper'), { recursive: true, force: true });
    await rm(path.join(layout.mountPoint, 'work'), { recursive: true, force: true });
    await rename(fresh, path.join(layout.mountPoint, 'upper'));
  } finally {
    await rm(fresh, { recursive: true, force: true }).catch(() => {});
    await run(['umount', layout.mountPoint], { allowFailure: true });
  }
}
