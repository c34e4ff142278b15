// Where a workspace's cgroup lives on this host, for both layouts: cgroup v1 (one hierarchy per controller; the
// hybrid layout adds a v2 `unified` one) and cgroup v2 (one unified hierarchy, as on stock Debian 12). runc writes
// the limits and drives the freezer on either; the driver only removes its cgroup parent, and tests read values.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export type CgroupMode = 'v1' | 'v2';

/** v2 when the unified hierarchy is mounted at the root (its `cgroup.controllers` there); v1 (or hybrid) otherwise. */
export function cgroupMode(root = CGROUP_ROOT): CgroupMode {
  return existsSync(path.join(root, 'cgroup.controllers')) ? 'v2' : 'v1';
}

/** The directory holding `controller`'s files of the cgroup at `relative` (e.g. `cove/ws_x`). */
export function cgroupDir(relative: string, controller: string, mode = cgroupMode()): string {
  return mode === 'v2' ? path.join(CGROUP_ROOT, relative) : path.join(CGROUP_ROOT, controller, relative);
}

/** Every directory of the cgroup at `relative`: one per v1 hierarchy (hybrid's `unified` too), or the v2 one. */
export function cgroupDirs(relative: string, mode = cgroupMode()): string[] {
  if (mode === 'v2') return [path.join(CGROUP_ROOT, relative)];
  const hierarchies = readdirSync(CGROUP_ROOT, { withFileTypes: true }).filter((e) => e.isDirectory());
  return hierarchies.map((e) => path.join(CGROUP_ROOT, e.name, relative));
}

/** A cgroup's limits, the same shape on v1 and v2. */
export interface CgroupLimits {
  mode: CgroupMode;
  /** Memory limit in bytes ('max': none). */
  memory: string;
  /** Swap allowed on top of memory, in bytes ('0': none). */
  swap: string;
  /** CPU bandwidth: '<quota µs> <period µs>' ('max <period>': none). */
  cpu: string;
  /** Process-count limit ('max': none). */
  pids: string;
}

/** Reads the limits runc wrote for the cgroup at `relative` (memory, swap, CPU quota, pids). */
export async function readLimits(relative: string, mode = cgroupMode()): Promise<CgroupLimits> {
  const read = async (controller: string, file: string) =>
    (await readFile(path.join(cgroupDir(relative, controller, mode), file), 'utf8')).trim();
  if (mode === 'v2') {
    return {
      mode,
      memory: await read('memory', 'memory.max'),
      swap: await read('memory', 'memory.swap.max'),
      cpu: await read('cpu', 'cpu.max'),
      pids: await read('pids', 'pids.max'),
    };
  }
  const memory = await read('memory', 'memory.limit_in_bytes');
  // memsw (memory + swap) exists only with swap accounting; without it no swap is counted against the cgroup.
  const memsw = await read('memory', 'memory.memsw.limit_in_bytes').catch(() => memory);
  const quota = await read('cpu', 'cpu.cfs_quota_us');
  return {
    mode,
    memory,
    swap: String(BigInt(memsw) - BigInt(memory)),
    cpu: `${quota === '-1' ? 'max' : quota} ${await read('cpu', 'cpu.cfs_period_us')}`,
    pids: await read('pids', 'pids.max'),
  };
}

/** Whether the cgroup at `relative` is frozen (v1: the freezer's state; v2: `frozen 1` in cgroup.events). */
export async function isFrozen(relative: string, mode = cgroupMode()): Promise<boolean> {
  if (mode === 'v2') return /^frozen 1$/m.test(await readFile(path.join(cgroupDir(relative, 'freezer', mode), 'cgroup.events'), 'utf8'));
  return (await readFile(path.join(cgroupDir(relative, 'freezer', mode), 'freezer.state'), 'utf8')).trim() === 'FROZEN';
}
