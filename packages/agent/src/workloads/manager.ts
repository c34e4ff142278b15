// The workspace's workloads: their definitions (persisted in the state directory), their supervisors, and what
// the workspace should do when one ends for good (`vm_on_exit`, told to whoever follows the events).
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  AppError,
  badParam,
  WORKLOAD_LIMITS,
  type WorkloadCreateBody,
  type WorkloadListQuery,
  type WorkloadUpdateBody,
  type WorkloadVmExitEvent,
} from '@cove/protocol';
import type { Logger } from 'pino';
import { type ProcessDefaults, parseEnvEntries } from '../identity/process-defaults.js';
import { definitionFromCreate, definitionWithUpdate, sameProcess, type WorkloadDefinition } from './definition.js';
import { stillRunning } from './proc.js';
import { Workload, type WorkloadHost, type WorkloadTiming } from './workload.js';
import { launchProblem } from './workload-process.js';
import { WorkloadStore } from './workload-store.js';

export interface WorkloadManagerOptions {
  stateDir: string;
  workdir: string;
  processes: ProcessDefaults;
  log: Logger;
  timing: WorkloadTiming;
}

export class WorkloadManager {
  readonly #opts: WorkloadManagerOptions;
  readonly #store: WorkloadStore;
  readonly #workloads = new Map<string, Workload>();
  readonly #host: WorkloadHost;
  readonly #events = new EventEmitter();
  /** `vm_on_exit` requests of this agent's life, told again to each new follower. */
  readonly #vmExits: WorkloadVmExitEvent[] = [];
  /** Changes to definitions run one at a time (names stay unique, the store sees each whole). */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: WorkloadManagerOptions) {
    this.#opts = options;
    this.#store = new WorkloadStore(path.join(options.stateDir, 'workloads'), options.log);
    this.#events.setMaxListeners(0);
    this.#host = {
      workdir: options.workdir,
      processes: options.processes,
      log: options.log,
      timing: options.timing,
      logFileOf: (def) => def.log_path ?? path.join(this.#store.dir, 'logs', `${def.id}.log`),
      changed: () => void this.#save(),
      endedForGood: (w) => this.#endedForGood(w),
    };
  }

  /**
   * Loads the saved workloads: a process a previous agent started that still runs is adopted; an enabled
   * workload that does not run is started (the workspace started again).
   */
  async init(): Promise<void> {
    for (const saved of await this.#store.load()) {
      const w = new Workload(saved.definition, this.#host);
      this.#workloads.set(saved.definition.id, w);
      const { pid, start_ticks } = saved.runtime ?? {};
      if (typeof pid === 'number' && typeof start_ticks === 'string' && (await stillRunning(pid, start_ticks))) {
        w.adopt({ ...saved.runtime, pid, start_ticks });
      } else if (saved.definition.enabled) {
        await w.start(true);
      }
    }
    await this.#save();
  }

  list(query: WorkloadListQuery): Workload[] {
    const states = query.states
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    return [...this.#workloads.values()].filter(
      (w) =>
        (states === undefined || states.length === 0 || states.includes(w.status)) &&
        (query.name === undefined || w.def.name === query.name),
    );
  }

  /** By id, or by name when no id matches. */
  get(idOrName: string): Workload {
    const byId = this.#workloads.get(idOrName);
    if (byId) return byId;
    const named = [...this.#workloads.values()].find((w) => w.def.name === idOrName);
    if (named) return named;
    throw new AppError('not_found', `workload '${idOrName.slice(0, 128)}' not found`);
  }

  create(body: WorkloadCreateBody): Promise<Workload> {
    return this.#serial(async () => {
      const def = definitionFromCreate(body, new Date().toISOString());
      if (this.#workloads.has(def.id)) throw new AppError('already_exists', `workload '${def.id}' already exists`);
      this.#checkName(def);
      if (this.#workloads.size >= WORKLOAD_LIMITS.maxWorkloads) {
        throw new AppError('conflict', `a workspace holds at most ${WORKLOAD_LIMITS.maxWorkloads} workloads`);
      }
      if (def.enabled) await this.#preflight(def);
      const w = new Workload(def, this.#host);
      this.#workloads.set(def.id, w);
      await this.#save();
      if (def.enabled) await w.start(true);
      return w;
    });
  }

  /** Applies the fields given; a running workload whose process changes restarts, one disabled stops. */
  update(idOrName: string, body: WorkloadUpdateBody): Promise<Workload> {
    return this.#serial(async () => {
      const w = this.get(idOrName);
      const next = definitionWithUpdate(w.def, body, new Date().toISOString());
      this.#checkName(next);
      const restart = w.alive && !sameProcess(w.def, next);
      if (next.enabled && (restart || !w.alive)) await this.#preflight(next);
      const wasEnabled = w.def.enabled;
      w.def = next;
      await this.#save();
      if (!next.enabled && w.alive) await w.stop();
      else if (restart) {
        await w.stop();
        await w.start(true);
      } else if (next.enabled && !wasEnabled && !w.alive) await w.start(true);
      return w;
    });
  }

  start(idOrName: string): Promise<Workload> {
    return this.#serial(async () => {
      const w = this.get(idOrName);
      if (!w.alive) await this.#preflight(w.def);
      if (!w.def.enabled) w.def = { ...w.def, enabled: true, updated_at: new Date().toISOString() };
      await w.start(true);
      await this.#save();
      return w;
    });
  }

  /** Stops it and disables it: a stopped workload stays stopped when the workspace starts again. */
  stop(idOrName: string): Promise<Workload> {
    return this.#serial(async () => {
      const w = this.get(idOrName);
      if (w.def.enabled) w.def = { ...w.def, enabled: false, updated_at: new Date().toISOString() };
      await w.stop();
      await this.#save();
      return w;
    });
  }

  remove(idOrName: string): Promise<Workload> {
    return this.#serial(async () => {
      const w = this.get(idOrName);
      await w.close(true, this.#opts.timing.killGraceMs);
      this.#workloads.delete(w.def.id);
      await this.#save();
      return w;
    });
  }

  removeAll(): Promise<number> {
    return this.#serial(async () => {
      const all = [...this.#workloads.values()];
      await Promise.all(all.map((w) => w.close(true, this.#opts.timing.killGraceMs)));
      this.#workloads.clear();
      await this.#save();
      return all.length;
    });
  }

  all(): Workload[] {
    return [...this.#workloads.values()];
  }

  /** Calls `listener` with every `vm_on_exit` request of this agent's life so far, then with each new one. */
  followVmExits(listener: (event: WorkloadVmExitEvent) => void): () => void {
    for (const event of this.#vmExits) listener(event);
    this.#events.on('vm_on_exit', listener);
    return () => this.#events.off('vm_on_exit', listener);
  }

  /** The agent is closing: with `kill` (it is being stopped), the workloads' processes stop with it. */
  async close(kill: boolean): Promise<void> {
    await this.#chain.catch(() => {});
    // Short: whoever stops the agent gives it a few seconds before killing it.
    await Promise.all(this.all().map((w) => w.close(kill, Math.min(this.#opts.timing.killGraceMs, 2000))));
    await this.#save();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(fn, fn);
    this.#chain = next.catch(() => {});
    return next;
  }

  #checkName(def: WorkloadDefinition): void {
    for (const other of this.#workloads.values()) {
      if (other.def.id !== def.id && (other.def.name === def.name || other.def.id === def.name)) {
        throw new AppError('already_exists', `a workload named '${def.name}' already exists`);
      }
    }
  }

  /** What would stop it from starting, as a 400 naming the field: an unknown user, no directory, no program. */
  async #preflight(def: WorkloadDefinition): Promise<void> {
    const identity = this.#opts.processes.resolve(def.user ?? undefined, parseEnvEntries(def.env));
    const cwd = def.working_dir === null ? this.#opts.workdir : path.resolve(this.#opts.workdir, def.working_dir);
    const info = await stat(cwd).catch(() => undefined);
    if (!info?.isDirectory()) throw badParam('working_dir', `'${cwd}' is not a directory`);
    const problem = launchProblem(def.cmd, cwd, identity.env);
    if (problem !== undefined) {
      throw badParam('cmd', `cannot run '${(def.cmd[0] as string).slice(0, 256)}': ${problem === 'ENOENT' ? 'no such program' : problem}`);
    }
  }

  #endedForGood(w: Workload): void {
    if (w.def.vm_on_exit === '') return;
    const event: WorkloadVmExitEvent = {
      type: 'vm_on_exit',
      workload_id: w.def.id,
      action: w.def.vm_on_exit,
      exit_code: w.exitCode,
      at: new Date().toISOString(),
    };
    this.#vmExits.push(event);
    if (this.#vmExits.length > 100) this.#vmExits.shift();
    this.#opts.log.info({ workload: w.def.id, action: event.action }, 'workload ended: the workspace is asked to act');
    this.#events.emit('vm_on_exit', event);
  }

  #save(): Promise<void> {
    return this.#store.save(() => this.all().map((w) => ({ definition: w.def, runtime: w.runtime })));
  }
}
