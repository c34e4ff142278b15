// Workspace figures for the API: stats (one reading, or one per interval), info and config. The driver reads the
// kernel (WorkspaceDriver.stats); this turns counters into rates. CPU use is a rate, so it needs two readings: the
// service keeps each workspace's previous one and measures over the time since (a first reading waits a short
// window for its second).
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError, type ConfigResponse, type InfoResponse, type StatsSample, type WorkspaceStats } from '@cove/protocol';
import type { WorkspaceRecord } from '../store/records.js';
import { type ControlContext, ownedWorkspace } from './context.js';

/** A window shorter than this gives a noisy rate (tick-based counters move in 10 ms steps): the last one is kept. */
const MIN_WINDOW_MS = 200;
/** Previous readings kept (one per workspace read recently); the oldest go first past this. */
const MAX_WINDOWS = 10_000;

interface CpuWindow {
  /** The reading the next window starts from. */
  base: WorkspaceStats;
  /** CPUs kept busy over the last window, and its length. */
  cores: number;
  windowMs: number;
}

/** A reading with the CPU rate over its window. */
export interface RatedStats {
  stats: WorkspaceStats;
  cores: number;
  windowMs: number;
}

export class MetricsService {
  readonly #ctx: ControlContext;
  readonly #windows = new Map<string, CpuWindow>();

  constructor(ctx: ControlContext) {
    this.#ctx = ctx;
  }

  /** The owner's workspace, which must be running or paused to have figures (409 when stopped). */
  async runningWorkspace(owner: string, id: string): Promise<WorkspaceRecord> {
    const ws = await ownedWorkspace(this.#ctx, owner, id);
    if (ws.status === 'stopped') throw new AppError('conflict', `workspace '${id}' is stopped; start it to read its stats`);
    return ws;
  }

  /** One reading of a running or paused workspace, with its CPU rate. */
  async read(ws: WorkspaceRecord): Promise<RatedStats> {
    const driver = this.#ctx.driver;
    if (!driver.stats) throw new AppError('conflict', `the ${driver.name} driver does not report workspace stats`);
    const now = await driver.stats(ws.id);
    const w = this.#windows.get(ws.id);
    // A counter that went back belongs to a new cgroup (the workspace restarted): start a new window.
    if (w && now.cpu.usageNs >= w.base.cpu.usageNs) {
      const elapsed = now.at - w.base.at;
      if (elapsed >= MIN_WINDOW_MS) {
        w.cores = (now.cpu.usageNs - w.base.cpu.usageNs) / 1e6 / elapsed;
        w.windowMs = elapsed;
        w.base = now;
      }
      return { stats: now, cores: w.cores, windowMs: w.windowMs };
    }
    await delay(MIN_WINDOW_MS);
    const next = await driver.stats(ws.id);
    const elapsed = Math.max(1, next.at - now.at);
    const fresh: CpuWindow = { base: next, cores: Math.max(0, next.cpu.usageNs - now.cpu.usageNs) / 1e6 / elapsed, windowMs: elapsed };
    this.#windows.delete(ws.id);
    this.#windows.set(ws.id, fresh);
    if (this.#windows.size > MAX_WINDOWS) this.#windows.delete(this.#windows.keys().next().value as string);
    return { stats: next, cores: fresh.cores, windowMs: fresh.windowMs };
  }

  /** A reading without a rate (Prometheus exports counters; the scraper derives rates). */
  async readCounters(ws: WorkspaceRecord): Promise<WorkspaceStats> {
    const driver = this.#ctx.driver;
    if (!driver.stats) throw new AppError('conflict', `the ${driver.name} driver does not report workspace stats`);
    return driver.stats(ws.id);
  }

  /** `GET /workspace/:id/info`. */
  async info(owner: string, id: string): Promise<InfoResponse> {
    const ws = await ownedWorkspace(this.#ctx, owner, id);
    const source =
      ws.status === 'stopped'
        ? null
        : await this.readCounters(ws).then(
            (s) => s.source,
            () => null,
          );
    return {
      success: true,
      workspace_id: ws.id,
      name: ws.name,
      status: ws.status,
      driver: this.#ctx.driver.name,
      image: ws.image,
      ip: ws.ip,
      kernel: os.release(),
      arch: os.arch(),
      host_cpus: os.availableParallelism(),
      host_memory_bytes: os.totalmem(),
      cgroup: source === 'cgroup-v1' ? 'v1' : source === 'cgroup-v2' ? 'v2' : null,
      stats_source: source,
      created_at: ws.createdAt,
      updated_at: ws.updatedAt,
    };
  }

  /** `GET /workspace/:id/config`: the sizes asked for, and the limits the kernel enforces while it runs. */
  async config(owner: string, id: string): Promise<ConfigResponse> {
    const ws = await ownedWorkspace(this.#ctx, owner, id);
    const s = ws.status === 'stopped' ? null : await this.readCounters(ws).catch(() => null);
    return {
      success: true,
      workspace_id: ws.id,
      status: ws.status,
      image: ws.image,
      config: { cpus: ws.cpus, memory_mb: ws.memoryMb, disk_size_mb: ws.diskMb },
      applied: s && {
        cpus: s.cpu.limitCpus,
        memory_bytes: s.memory.limitBytes,
        pids: s.processes.limit,
        disk_bytes: s.disk.sizeBytes,
      },
    };
  }
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const seconds = (ns: number | null) => (ns === null ? null : ns / 1e9);
const percent = (part: number | null, whole: number | null) => (part === null || !whole ? null : round((100 * part) / whole, 2));

/** A reading as the wire shows it (`GET …/stats` without `success`, and each event of `…/stats/stream`). */
export function presentStats(ws: WorkspaceRecord, driver: string, { stats: s, cores, windowMs }: RatedStats): StatsSample {
  // Without a quota the workspace may use every CPU of the host: that is its allowance.
  const allowance = s.cpu.limitCpus ?? os.availableParallelism();
  return {
    workspace_id: ws.id,
    status: ws.status,
    driver,
    source: s.source,
    timestamp: new Date(s.at).toISOString(),
    cpu_usage: round((100 * cores) / allowance, 2),
    memory_usage: percent(s.memory.currentBytes, s.memory.limitBytes),
    disk_usage: percent(s.disk.usedBytes, s.disk.sizeBytes),
    cpu: {
      cores: round(cores, 4),
      window_ms: windowMs,
      usage_seconds: s.cpu.usageNs / 1e9,
      user_seconds: seconds(s.cpu.userNs),
      system_seconds: seconds(s.cpu.systemNs),
      limit_cpus: s.cpu.limitCpus,
      periods: s.cpu.periods,
      throttled_periods: s.cpu.throttledPeriods,
      throttled_seconds: seconds(s.cpu.throttledNs),
    },
    memory: {
      current_bytes: s.memory.currentBytes,
      working_set_bytes: s.memory.workingSetBytes,
      limit_bytes: s.memory.limitBytes,
      peak_bytes: s.memory.peakBytes,
      oom_kills: s.memory.oomKills,
    },
    processes: { current: s.processes.current, limit: s.processes.limit },
    disk: { used_bytes: s.disk.usedBytes, size_bytes: s.disk.sizeBytes },
    network: {
      rx: s.network.rxBytes,
      tx: s.network.txBytes,
      rx_bytes: s.network.rxBytes,
      tx_bytes: s.network.txBytes,
      rx_packets: s.network.rxPackets,
      tx_packets: s.network.txPackets,
    },
  };
}
