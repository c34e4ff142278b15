import { randomFillSync } from 'node:crypto';
import { AppError } from '@cove/protocol';
import type { Task } from './task.js';

/** Random bytes drawn 6 at a time from one buffer filled by the CSPRNG: one call per 256 ids, not one per id. */
const ID_BYTES = 6;
const pool = Buffer.alloc(ID_BYTES * 256);
let poolAt = pool.length;

function randomHex(): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += ID_BYTES;
  return pool.toString('hex', poolAt - ID_BYTES, poolAt);
}

export interface RegistryLimits {
  /** Tasks running at once; one more is 429 `too_many_tasks`. */
  maxRunning: number;
  /** Finished tasks kept at most; past it the oldest finished ones are forgotten first. */
  maxFinished: number;
  /** How often expired tasks are swept. */
  sweepIntervalMs: number;
}

/**
 * The tracked tasks: ids, the running-task limit and expiry. A finished task
 * is forgotten `ttl_seconds` after its exit (never with -1); its output is
 * kept until then only with `keep_logs`.
 */
export class TaskRegistry {
  readonly #tasks = new Map<string, Task>();
  readonly #limits: RegistryLimits;
  #running = 0;
  #finished = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(limits: RegistryLimits) {
    this.#limits = limits;
  }

  get runningCount(): number {
    return this.#running;
  }

  /** A fresh id: 12 hex digits, unguessable enough that ids do not leak other tasks. */
  newId(): string {
    for (;;) {
      const id = randomHex();
      if (!this.#tasks.has(id)) return id;
    }
  }

  /** Reserves a running slot for a new task, or throws 429. */
  admit(task: Task): void {
    if (this.#running >= this.#limits.maxRunning) {
      throw new AppError('too_many_tasks', `too many running tasks (at most ${this.#limits.maxRunning}); wait for one to exit or kill one`);
    }
    this.#running++;
    this.#tasks.set(task.id, task);
    this.#ensureSweeper();
  }

  /** Called when a task exits or fails to start: frees its slot and starts its TTL. */
  finished(task: Task): void {
    this.#running--;
    if (!task.keepLogs) task.discardLogs();
    if (this.#tasks.get(task.id) !== task) return;
    this.#finished++;
    if (this.#finished > this.#limits.maxFinished) this.#evictOldestFinished();
  }

  get(id: string): Task {
    const task = this.#tasks.get(id);
    if (!task || this.#expired(task, Date.now())) {
      if (task) this.#forget(task);
      throw new AppError('not_found', `task not found: ${id}`);
    }
    return task;
  }

  list(): Task[] {
    const now = Date.now();
    const out: Task[] = [];
    for (const task of this.#tasks.values()) {
      if (this.#expired(task, now)) this.#forget(task);
      else out.push(task);
    }
    return out;
  }

  /** Stops tracking a task (the caller kills it). */
  remove(task: Task): void {
    if (this.#tasks.get(task.id) === task) this.#forget(task);
  }

  /** Whether a still-running task has this pid (so a stale pgid is never signalled). */
  pidInUse(pid: number, except: Task): boolean {
    for (const task of this.#tasks.values()) if (task !== except && task.running && task.pid === pid) return true;
    return false;
  }

  all(): Task[] {
    return [...this.#tasks.values()];
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #expired(task: Task, now: number): boolean {
    return task.finished && task.ttlSeconds >= 0 && now - task.exitedMs >= task.ttlSeconds * 1000;
  }

  #forget(task: Task): void {
    this.#tasks.delete(task.id);
    if (task.finished) this.#finished--;
  }

  #evictOldestFinished(): void {
    // Map order is insertion order, so the first finished tasks are the oldest ones.
    for (const task of this.#tasks.values()) {
      if (this.#finished <= this.#limits.maxFinished) return;
      if (task.finished) this.#forget(task);
    }
  }

  #ensureSweeper(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => {
      this.list();
      if (this.#tasks.size === 0) this.close();
    }, this.#limits.sweepIntervalMs);
    this.#sweeper.unref();
  }
}
