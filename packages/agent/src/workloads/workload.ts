// One workload and its supervision: starting its process, noticing its exit, restarting it by its policy (a
// delay, doubled with each restart in a row when `restart_backoff`), giving up after `max_restarts`, stopping
// its whole group on request, keeping its log under `max_log_size_mb`, and adopting a process a previous agent
// started.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { WORKLOAD_LIMITS, type WorkloadInfo, type WorkloadStatus } from '@cove/protocol';
import type { Logger } from 'pino';
import { signalNumber } from '../exec/signals.js';
import { type ProcessDefaults, parseEnvEntries } from '../identity/process-defaults.js';
import { copyTruncate } from '../logs/log-file.js';
import type { WorkloadDefinition } from './definition.js';
import { startTicksOf, stillRunning } from './proc.js';
import { launchWorkload, signalGroup } from './workload-process.js';

/** What a workload needs from the manager. */
export interface WorkloadHost {
  workdir: string;
  processes: ProcessDefaults;
  log: Logger;
  /** The file its output goes to. */
  logFileOf(def: WorkloadDefinition): string;
  /** Something worth saving changed (its pid, its restart count). */
  changed(): void;
  /** It ended for good with a `vm_on_exit` to act on. */
  endedForGood(workload: Workload): void;
  timing: WorkloadTiming;
}

export interface WorkloadTiming {
  /** SIGTERM → SIGKILL on a stop. */
  killGraceMs: number;
  /** A run this long resets the count of restarts in a row. */
  resetAfterMs: number;
  /** How often the log's size is checked, and an adopted process looked for. */
  checkIntervalMs: number;
}

/** What the store keeps of a workload beside its definition: enough for the next agent to adopt its process. */
export interface WorkloadRuntime {
  pid: number | null;
  start_ticks: string | null;
  started_at: string | null;
  restart_count: number;
}

export class Workload {
  def: WorkloadDefinition;
  status: WorkloadStatus = 'created';
  pid: number | null = null;
  exitCode: number | null = null;
  signal: string | null = null;
  error: string | null = null;
  startedAt: string | null = null;
  exitedAt: string | null = null;
  restartCount = 0;
  nextRestartAt: string | null = null;

  readonly #host: WorkloadHost;
  #startTicks: string | null = null;
  #child: ChildProcess | undefined;
  /** Bumped at each start, stop and adoption: callbacks of an earlier run find it changed and do nothing. */
  #run = 0;
  #stopRequested = false;
  #exitWaiters: Array<() => void> = [];
  #restartTimer: NodeJS.Timeout | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #checking = false;

  constructor(def: WorkloadDefinition, host: WorkloadHost) {
    this.def = def;
    this.#host = host;
  }

  /** Its process runs (started here or adopted). */
  get alive(): boolean {
    return this.pid !== null;
  }

  get logFile(): string {
    return this.#host.logFileOf(this.def);
  }

  get runtime(): WorkloadRuntime {
    return { pid: this.pid, start_ticks: this.#startTicks, started_at: this.startedAt, restart_count: this.restartCount };
  }

  /** Starts its process unless it runs; `fresh` (a request, a workspace start) also forgets restarts in a row. */
  async start(fresh: boolean): Promise<void> {
    this.#clearRestart();
    if (this.alive) return;
    if (fresh) this.restartCount = 0;
    const run = ++this.#run;
    this.#stopRequested = false;
    const def = this.def;
    const startedMs = Date.now();
    let child: ChildProcess;
    try {
      // The request's user and variables over the workspace's (the image's User and Env), as for exec.
      const identity = this.#host.processes.resolve(def.user ?? undefined, parseEnvEntries(def.env));
      const cwd = def.working_dir === null ? this.#host.workdir : path.resolve(this.#host.workdir, def.working_dir);
      child = await launchWorkload({ cmd: def.cmd, cwd, identity, logFile: this.logFile }, (code, signal) =>
        this.#exited(run, code, signal),
      );
    } catch (err) {
      if (run !== this.#run) return;
      this.pid = null;
      this.exitCode = null;
      this.signal = null;
      this.error = `failed to start process: ${(err as Error).message}`;
      this.exitedAt = new Date().toISOString();
      this.#host.log.warn({ workload: def.id, err: this.error }, 'workload could not start');
      this.#afterExit(true, 0, true);
      return;
    }
    if (run !== this.#run || child.pid === undefined) return;
    this.#child = child;
    this.pid = child.pid;
    this.status = 'running';
    this.startedAt = new Date(startedMs).toISOString();
    this.exitCode = null;
    this.signal = null;
    this.error = null;
    this.exitedAt = null;
    this.#startTicks = (await startTicksOf(child.pid)) ?? null;
    this.#startChecks(run);
    this.#host.log.info({ workload: def.id, pid: child.pid }, 'workload started');
    this.#host.changed();
  }

  /** Takes over a process a previous agent started (found alive, same start time): its exit is watched in /proc. */
  adopt(runtime: WorkloadRuntime & { pid: number; start_ticks: string }): void {
    const run = ++this.#run;
    this.pid = runtime.pid;
    this.#startTicks = runtime.start_ticks;
    this.startedAt = runtime.started_at;
    this.restartCount = runtime.restart_count;
    this.status = 'running';
    this.#startChecks(run);
    this.#host.log.info({ workload: this.def.id, pid: runtime.pid }, 'workload adopted');
  }

  /** Stops it (its whole group: SIGTERM, then SIGKILL after the grace); no restart follows. */
  async stop(graceMs = this.#host.timing.killGraceMs): Promise<void> {
    this.#clearRestart();
    if (!this.alive) {
      if (this.status === 'restarting' || this.status === 'running') this.status = 'stopped';
      this.#host.changed();
      return;
    }
    this.#stopRequested = true;
    const pid = this.pid as number;
    const exited = new Promise<void>((resolve) => this.#exitWaiters.push(resolve));
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** The agent is closing: timers end; with `kill`, its processes too (a workspace that stops takes them along). */
  async close(kill: boolean, graceMs: number): Promise<void> {
    this.#clearRestart();
    if (kill && this.alive) await this.stop(graceMs);
    this.#run++;
    clearInterval(this.#checkTimer);
  }

  toJSON(): WorkloadInfo {
    const d = this.def;
    return {
      id: d.id,
      name: d.name,
      target: 'default',
      cmd: d.cmd,
      env: d.env,
      working_dir: d.working_dir,
      user: d.user,
      restart_policy: d.restart_policy,
      max_restarts: d.max_restarts,
      restart_delay: d.restart_delay,
      restart_backoff: d.restart_backoff,
      log_path: this.logFile,
      max_log_size_mb: d.max_log_size_mb,
      vm_on_exit: d.vm_on_exit,
      labels: d.labels,
      annotations: d.annotations,
      enabled: d.enabled,
      status: this.status,
      pid: this.pid,
      exit_code: this.exitCode,
      signal: this.signal,
      restart_count: this.restartCount,
      next_restart_at: this.nextRestartAt,
      error: this.error,
      started_at: this.startedAt,
      exited_at: this.exitedAt,
      created_at: d.created_at,
      updated_at: d.updated_at,
    };
  }

  #exited(run: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (run !== this.#run) return;
    this.#run++;
    clearInterval(this.#checkTimer);
    const pid = this.pid;
    // What it left behind in its group goes with it: a restart must not find its port still taken.
    if (pid !== null) signalGroup(pid, 'SIGKILL');
    const ranMs = this.startedAt ? Date.now() - Date.parse(this.startedAt) : 0;
    this.#child = undefined;
    this.pid = null;
    this.#startTicks = null;
    this.exitedAt = new Date().toISOString();
    this.signal = signal;
    // Unknown (an adopted process: only its parent learns its status) is null.
    this.exitCode = signal !== null ? 128 + signalNumber(signal) : code;
    const waiters = this.#exitWaiters;
    this.#exitWaiters = [];
    if (this.#stopRequested) {
      this.#stopRequested = false;
      this.status = 'stopped';
      this.#host.log.info({ workload: this.def.id }, 'workload stopped');
      this.#host.changed();
    } else {
      this.#host.log.info({ workload: this.def.id, code: this.exitCode, signal }, 'workload exited');
      this.#afterExit(!(code === 0 && signal === null), ranMs, false);
    }
    for (const wake of waiters) wake();
  }

  /** After a run ended on its own (or could not start): a restart by its policy, or the end. */
  #afterExit(failed: boolean, ranMs: number, startFailed: boolean): void {
    const def = this.def;
    if (ranMs >= this.#host.timing.resetAfterMs) this.restartCount = 0;
    const restart = def.enabled && (def.restart_policy === 'always' || (def.restart_policy === 'on-failure' && failed));
    if (!restart) {
      this.status = startFailed ? 'failed' : 'exited';
      this.#host.changed();
      this.#host.endedForGood(this);
      return;
    }
    if (def.max_restarts > 0 && this.restartCount >= def.max_restarts) {
      this.status = 'failed';
      this.error = `${this.error ? `${this.error}; ` : ''}gave up after ${this.restartCount} restarts (max_restarts ${def.max_restarts})`;
      this.#host.log.warn({ workload: def.id, restarts: this.restartCount }, 'workload restart limit reached');
      this.#host.changed();
      this.#host.endedForGood(this);
      return;
    }
    this.restartCount++;
    const base = def.restart_delay;
    const grown = def.restart_backoff ? base * 2 ** Math.min(this.restartCount - 1, 30) : base;
    const delaySeconds = Math.min(grown, Math.max(base, WORKLOAD_LIMITS.maxBackoffSeconds));
    this.status = 'restarting';
    this.nextRestartAt = new Date(Date.now() + delaySeconds * 1000).toISOString();
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.nextRestartAt = null;
      void this.start(false);
    }, delaySeconds * 1000);
    this.#host.changed();
  }

  #clearRestart(): void {
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.nextRestartAt = null;
  }

  /** While it runs: its log kept under its bound, and an adopted process looked for (it has no exit event here). */
  #startChecks(run: number): void {
    clearInterval(this.#checkTimer);
    this.#checkTimer = setInterval(() => void this.#check(run), this.#host.timing.checkIntervalMs);
    this.#checkTimer.unref();
  }

  async #check(run: number): Promise<void> {
    if (this.#checking || run !== this.#run) return;
    this.#checking = true;
    try {
      await copyTruncate(this.logFile, this.def.max_log_size_mb * 1024 * 1024).catch(() => false);
      if (this.#child === undefined && this.pid !== null && this.#startTicks !== null && run === this.#run) {
        if (!(await stillRunning(this.pid, this.#startTicks))) this.#exited(run, null, null);
      }
    } finally {
      this.#checking = false;
    }
  }
}
