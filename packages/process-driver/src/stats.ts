// A process workspace's figures, from /proc: it has no cgroup, disk or network of its own, so only what its
// process tree (the agent and everything below it) and its directory show can be read. The rest is null.
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceStats } from '@cove/protocol';

/** USER_HZ: /proc/<pid>/stat counts CPU time in ticks, which Linux fixes at 100 per second on every architecture. */
const NS_PER_TICK = 10_000_000;
/** A directory with more entries than this is not walked on every read: its use is reported unknown (null). */
const MAX_DISK_ENTRIES = 100_000;

interface ProcEntry {
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks: its own time and that of the children it reaped. */
  ticks: number;
  userTicks: number;
  systemTicks: number;
}

/** Every process's parent and CPU time, from /proc/<pid>/stat. */
async function processTable(): Promise<Map<number, ProcEntry>> {
  const table = new Map<number, ProcEntry>();
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((e) => /^\d+$/.test(e));
  await Promise.all(
    pids.map(async (entry) => {
      const stat = await readFile(`/proc/${entry}/stat`, 'latin1').catch(() => '');
      // The fields after the parenthesised command name (which may contain spaces and parentheses).
      const f = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      const [ppid, utime, stime, cutime, cstime] = [f[1], f[11], f[12], f[13], f[14]];
      if (ppid === undefined || utime === undefined || stime === undefined || cutime === undefined || cstime === undefined) return;
      if (![ppid, utime, stime, cutime, cstime].every(Number.isFinite)) return;
      table.set(Number(entry), { ppid, ticks: utime + stime + cutime + cstime, userTicks: utime + cutime, systemTicks: stime + cstime });
    }),
  );
  return table;
}

/** `root` and every process below it. */
function tree(table: Map<number, ProcEntry>, root: number): number[] {
  if (!table.has(root)) return [];
  const children = new Map<number, number[]>();
  for (const [pid, e] of table) {
    const list = children.get(e.ppid);
    if (list) list.push(pid);
    else children.set(e.ppid, [pid]);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i] as number) ?? []));
  return out;
}

/** Resident memory of a process, in bytes (VmRSS; 0 for a zombie, which has none). */
async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'latin1').catch(() => '');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** Bytes the directory's files take on disk (du: allocated blocks, hard links once); null past MAX_DISK_ENTRIES. */
async function diskUsed(dir: string): Promise<number | null> {
  const seen = new Set<string>();
  let total = 0;
  let entries = 0;
  const stack = [dir];
  for (let current = stack.pop(); current !== undefined; current = stack.pop()) {
    const st = await lstat(current, { bigint: true }).catch(() => undefined);
    if (!st) continue;
    if (++entries > MAX_DISK_ENTRIES) return null;
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1n && seen.has(key)) continue;
    if (st.nlink > 1n) seen.add(key);
    total += Number(st.blocks) * 512;
    if (st.isDirectory()) {
      for (const name of await readdir(current).catch(() => [] as string[])) stack.push(path.join(current, name));
    }
  }
  return total;
}

/**
 * The figures of a process workspace: CPU time and resident memory of the agent's process tree (`rootPid`; none
 * when the agent does not run) and the disk use of its directory. CPU time counts the tree's processes and the
 * children they reaped; a process that leaves the tree (a daemon re-parented to init) is no longer counted. Memory
 * is the sum of the processes' resident sets (pages they share are counted once per process). No limits, no
 * peak, no OOM count, no network of its own: those are null.
 */
export async function readProcessTreeStats(rootPid: number | undefined, workspaceDir: string): Promise<WorkspaceStats> {
  const table = rootPid === undefined ? new Map<number, ProcEntry>() : await processTable();
  const pids = rootPid === undefined ? [] : tree(table, rootPid);
  let ticks = 0;
  let userTicks = 0;
  let systemTicks = 0;
  for (const pid of pids) {
    const e = table.get(pid) as ProcEntry;
    ticks += e.ticks;
    userTicks += e.userTicks;
    systemTicks += e.systemTicks;
  }
  const [memory, used] = await Promise.all([Promise.all(pids.map(rss)), diskUsed(workspaceDir)]);
  return {
    source: 'proc',
    at: Date.now(),
    cpu: {
      usageNs: ticks * NS_PER_TICK,
      userNs: userTicks * NS_PER_TICK,
      systemNs: systemTicks * NS_PER_TICK,
      limitCpus: null,
      periods: null,
      throttledPeriods: null,
      throttledNs: null,
    },
    memory: { currentBytes: memory.reduce((a, b) => a + b, 0), workingSetBytes: null, limitBytes: null, peakBytes: null, oomKills: null },
    processes: { current: pids.length, limit: null },
    disk: { usedBytes: used, sizeBytes: null },
    network: { rxBytes: null, txBytes: null, rxPackets: null, txPackets: null },
  };
}
