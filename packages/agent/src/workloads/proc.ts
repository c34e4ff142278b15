// What /proc says of a workload's processes: whether its main process is still the one started (pid and start
// time, so a reused pid is not mistaken for it), and the CPU time and resident memory of its session.
import { readdir, readFile } from 'node:fs/promises';

/** Kernel clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on every Linux architecture). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  state: string;
  session: number;
  /** utime + stime, in ticks. */
  cpuTicks: number;
  /** Start time after boot, in ticks. */
  startTicks: string;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Field 3 (state) is the first after the name: fields[0] is field 3.
  const f = text.slice(close + 2).split(' ');
  const field = (n: number) => f[n - 3] ?? '';
  return {
    state: field(3),
    session: Number(field(6)),
    cpuTicks: Number(field(14)) + Number(field(15)),
    startTicks: field(22),
  };
}

async function readStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseStat(text);
}

/** The process's start time (its identity beside the pid), undefined when it is gone. */
export async function startTicksOf(pid: number): Promise<string | undefined> {
  return (await readStat(pid))?.startTicks;
}

/** Whether `pid` is still the process that started at `startTicks` (and not a zombie). */
export async function stillRunning(pid: number, startTicks: string): Promise<boolean> {
  const stat = await readStat(pid);
  return stat !== undefined && stat.startTicks === startTicks && stat.state !== 'Z' && stat.state !== 'X';
}

export interface SessionSample {
  /** Processes of the session. */
  pids: number;
  cpuSeconds: number;
  rssBytes: number;
  /** When it was read (ms, monotonic enough for rates: Date.now). */
  at: number;
}

/**
 * The processes of session `sid` (a workload starts as the leader of a new session, so its session is its tree,
 * daemonised children included, unless one starts a session of its own): their number, CPU time and resident
 * memory (VmRSS).
 */
export async function sampleSession(sid: number): Promise<SessionSample> {
  const at = Date.now();
  let pids = 0;
  let ticks = 0;
  let rss = 0;
  const entries = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    entries.map(async (name) => {
      if (!/^\d+$/.test(name)) return;
      const stat = await readStat(Number(name));
      if (!stat || stat.session !== sid || stat.state === 'Z') return;
      pids++;
      ticks += stat.cpuTicks;
      const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
      if (kb !== undefined) rss += Number(kb) * 1024;
    }),
  );
  return { pids, cpuSeconds: ticks / TICKS_PER_SECOND, rssBytes: rss, at };
}

/** CPU use between two samples, in percent of one CPU (null without a previous sample). */
export function cpuPercent(previous: SessionSample | undefined, current: SessionSample): number | null {
  if (!previous || current.at <= previous.at) return null;
  const used = Math.max(0, current.cpuSeconds - previous.cpuSeconds);
  return Math.round((used / ((current.at - previous.at) / 1000)) * 10_000) / 100;
}
