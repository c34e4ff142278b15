// A workspace's CPU, memory and process figures from its cgroup, on either layout. cgroup v1 (this host's hybrid
// layout) spreads them over one hierarchy per controller, in units of its own; v2 keeps them in one directory.
// Both end in the same shape (WorkspaceStats' cpu, memory and processes).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppError, type WorkspaceStats } from '@cove/protocol';
import { CGROUP_ROOT, type CgroupMode, cgroupMode } from '../cgroups.js';
import { limitOrNull, readKernelFile, readKeyed, readNumber } from './kernel-files.js';

export type CgroupStats = Pick<WorkspaceStats, 'cpu' | 'memory' | 'processes'> & { mode: CgroupMode };

export interface CgroupLocation {
  /** The cgroup's path below each hierarchy (`<parent>/<slot>`). */
  relative: string;
  /** The cgroup file system's mount point (a fixture directory in tests). */
  root?: string;
  /** The layout; found from `root` when absent. */
  mode?: CgroupMode;
}

/** v1's cpuacct.stat counts in USER_HZ ticks, which Linux fixes at 100 per second on every architecture. */
const NS_PER_TICK = 10_000_000;

/** Reads the cgroup's figures; `conflict` when it does not exist (the workspace is stopped). */
export function readCgroupStats(location: CgroupLocation): CgroupStats {
  const root = location.root ?? CGROUP_ROOT;
  const mode = location.mode ?? cgroupMode(root);
  return mode === 'v2' ? readV2(path.join(root, location.relative)) : readV1(root, location.relative);
}

function missing(dir: string): AppError {
  return new AppError('conflict', `the workspace is not running (no cgroup at ${dir})`);
}

function readV2(dir: string): CgroupStats {
  const cpu = readKeyed(path.join(dir, 'cpu.stat'));
  const usageUsec = cpu.get('usage_usec');
  const current = readNumber(path.join(dir, 'memory.current'));
  if (usageUsec === undefined || current === null) throw missing(dir);
  const [quota, period] = (readKernelFile(path.join(dir, 'cpu.max'))?.trim() ?? 'max').split(' ');
  const memoryStat = readKeyed(path.join(dir, 'memory.stat'));
  const inactive = memoryStat.get('inactive_file');
  const micro = (key: string) => {
    const v = cpu.get(key);
    return v === undefined ? null : v * 1000;
  };
  return {
    mode: 'v2',
    cpu: {
      usageNs: usageUsec * 1000,
      userNs: micro('user_usec'),
      systemNs: micro('system_usec'),
      limitCpus: quota === undefined || quota === 'max' || !period ? null : Number(quota) / Number(period),
      periods: cpu.get('nr_periods') ?? null,
      throttledPeriods: cpu.get('nr_throttled') ?? null,
      throttledNs: micro('throttled_usec'),
    },
    memory: {
      currentBytes: current,
      workingSetBytes: inactive === undefined ? null : Math.max(0, current - inactive),
      limitBytes: readNumber(path.join(dir, 'memory.max')),
      // memory.peak exists from Linux 5.19 on; earlier kernels keep no peak for a v2 cgroup.
      peakBytes: readNumber(path.join(dir, 'memory.peak')),
      oomKills: readKeyed(path.join(dir, 'memory.events')).get('oom_kill') ?? null,
    },
    processes: { current: readNumber(path.join(dir, 'pids.current')) ?? countProcs(dir), limit: readNumber(path.join(dir, 'pids.max')) },
  };
}

function readV1(root: string, relative: string): CgroupStats {
  const dir = (controller: string) => path.join(root, controller, relative);
  const cpuacct = dir('cpuacct');
  const memory = dir('memory');
  const usage = readNumber(path.join(cpuacct, 'cpuacct.usage'));
  const current = readNumber(path.join(memory, 'memory.usage_in_bytes'));
  if (usage === null || current === null) throw missing(existsSync(cpuacct) ? memory : cpuacct);
  // usage_user/usage_sys (ns) where the kernel has them (4.16+), else cpuacct.stat's ticks.
  let userNs = readNumber(path.join(cpuacct, 'cpuacct.usage_user'));
  let systemNs = readNumber(path.join(cpuacct, 'cpuacct.usage_sys'));
  if (userNs === null || systemNs === null) {
    const ticks = readKeyed(path.join(cpuacct, 'cpuacct.stat'));
    const user = ticks.get('user');
    const system = ticks.get('system');
    userNs = user === undefined ? null : user * NS_PER_TICK;
    systemNs = system === undefined ? null : system * NS_PER_TICK;
  }
  const cpu = readKeyed(path.join(dir('cpu'), 'cpu.stat'));
  const quota = readNumber(path.join(dir('cpu'), 'cpu.cfs_quota_us'));
  const period = readNumber(path.join(dir('cpu'), 'cpu.cfs_period_us'));
  // The hierarchical total: the workspace's processes may sit in child cgroups of its own.
  const inactive = readKeyed(path.join(memory, 'memory.stat')).get('total_inactive_file');
  return {
    mode: 'v1',
    cpu: {
      usageNs: usage,
      userNs,
      systemNs,
      limitCpus: quota === null || quota < 0 || !period ? null : quota / period,
      periods: cpu.get('nr_periods') ?? null,
      throttledPeriods: cpu.get('nr_throttled') ?? null,
      throttledNs: cpu.get('throttled_time') ?? null,
    },
    memory: {
      currentBytes: current,
      workingSetBytes: inactive === undefined ? null : Math.max(0, current - inactive),
      limitBytes: limitOrNull(readNumber(path.join(memory, 'memory.limit_in_bytes'))),
      peakBytes: readNumber(path.join(memory, 'memory.max_usage_in_bytes')),
      // `oom_kill` in memory.oom_control exists from Linux 4.13 on.
      oomKills: readKeyed(path.join(memory, 'memory.oom_control')).get('oom_kill') ?? null,
    },
    processes: {
      current: readNumber(path.join(dir('pids'), 'pids.current')) ?? countProcs(memory),
      limit: readNumber(path.join(dir('pids'), 'pids.max')),
    },
  };
}

/** Without the pids controller: the processes listed in the cgroup itself (its child cgroups' are not counted). */
function countProcs(dir: string): number {
  return (readKernelFile(path.join(dir, 'cgroup.procs')) ?? '').split('\n').filter((l) => l !== '').length;
}
