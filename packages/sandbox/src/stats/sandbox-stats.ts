// A sandbox workspace's figures: its cgroup (CPU, memory, processes), its disk and its network link.
import type { WorkspaceStats } from '@cove/protocol';
import { type CgroupLocation, readCgroupStats } from './cgroup-stats.js';
import { readDiskStats } from './disk-stats.js';
import { readLinkStats } from './link-stats.js';

export interface SandboxStatsSources {
  cgroup: CgroupLocation;
  /** Where the workspace's disk is mounted on the host. */
  diskMountPoint: string;
  /** The host side of its veth link. */
  hostLink: string;
}

/** One reading; `conflict` when the workspace's cgroup is gone (stopped). */
export function readSandboxStats(sources: SandboxStatsSources): WorkspaceStats {
  const { mode, ...cgroup } = readCgroupStats(sources.cgroup);
  return {
    source: mode === 'v2' ? 'cgroup-v2' : 'cgroup-v1',
    at: Date.now(),
    ...cgroup,
    disk: readDiskStats(sources.diskMountPoint),
    network: readLinkStats(sources.hostLink),
  };
}
