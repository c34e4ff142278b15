// A workspace's disk: its own ext4 file system, mounted on the host while the workspace is up. statfs counts
// the blocks in use (file data, metadata and the journal), which is what fills the disk.
import { statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { WorkspaceStats } from '@cove/protocol';

/** Used and total bytes of the file system mounted at `mountPoint`; null when nothing is mounted there. */
export function readDiskStats(mountPoint: string): WorkspaceStats['disk'] {
  try {
    // Unmounted, the directory would report the file system that holds it (the host's): not the workspace's disk.
    if (statSync(mountPoint).dev === statSync(path.dirname(mountPoint)).dev) return { usedBytes: null, sizeBytes: null };
    const s = statfsSync(mountPoint);
    return { usedBytes: (s.blocks - s.bfree) * s.bsize, sizeBytes: s.blocks * s.bsize };
  } catch {
    return { usedBytes: null, sizeBytes: null };
  }
}
