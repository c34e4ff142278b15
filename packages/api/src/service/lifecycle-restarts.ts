import type { LifecycleRecord, WorkspaceRecord } from '../store/records.js';
import type { ControlContext } from './context.js';
import { addEvent } from './lifecycle-policy.js';
import { powerLocked } from './workspaces.js';

interface Policy {
  policy: 'on-failure' | 'always';
  restartCount: number;
}

export interface RestartWatchDeps {
  /** Applies a change to the workspace's lifecycle row (under its lock) and re-arms its deadline. */
  record(id: string, change: (lc: LifecycleRecord) => void): Promise<void>;
  /** A workspace without a restart policy whose agent died: reported as stopped by failure (lifecycle-failures.ts). */
  failed?(id: string, reason: string): Promise<void>;
}

/**
 * Restart policies: notices workspaces whose agent died — told by the driver (`watch`) where it can, and by
 * checking `agentRunning` every `watchMs` for the workspaces that have a policy (a map look-up and, in a
 * sandbox, one kill(pid, 0) each) — and restarts them after a backoff that doubles with each restart in a row.
 * The restart itself runs from the lifecycle's deadline queue, under the workspace's lock, so it never races a
 * user's stop; the events land in the workspace's lifecycle history.
 */
export class RestartWatch {
  readonly #ctx: ControlContext;
  readonly #opts: { watchMs: number; restartBackoffMs: number; maxBackoffMs: number };
  readonly #deps: RestartWatchDeps;
  readonly #policies = new Map<string, Policy>();
  /** Restarts waiting for their backoff: when, and why. */
  readonly #pending = new Map<string, { at: number; reason: string; stop: boolean }>();
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;
  #checking = false;

  constructor(ctx: ControlContext, opts: { watchMs: number; restartBackoffMs: number; maxBackoffMs: number }, deps: RestartWatchDeps) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#deps = deps;
  }

  start(): void {
    this.#unwatch = this.#ctx.driver.watch?.((event) => {
      const reason = event.signal !== null ? `killed by ${event.signal}` : `exited with code ${event.code}`;
      void this.#suspect(event.workspaceId, reason, event.code === 0 && event.signal === null);
    });
    this.#timer = setInterval(() => void this.#check(), this.#opts.watchMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#unwatch?.();
    this.#pending.clear();
  }

  /** Keeps the watched set in step with the workspace's policy. */
  track(lc: LifecycleRecord): void {
    if (lc.restartPolicy === 'never') {
      this.#policies.delete(lc.workspaceId);
      this.#pending.delete(lc.workspaceId);
    } else {
      this.#policies.set(lc.workspaceId, { policy: lc.restartPolicy, restartCount: lc.restartCount });
    }
  }

  forget(id: string): void {
    this.#policies.delete(id);
    this.#pending.delete(id);
  }

  /** When the workspace's pending restart is due, if one is. */
  pendingAt(id: string): number | undefined {
    return this.#pending.get(id)?.at;
  }

  /**
   * The restart, if one is due (caller holds the lock): the workspace restarted (or stopped, past
   * `max_restarts`), with the lifecycle row changed to say so; undefined when nothing was due or the workspace
   * no longer needs it (a user stopped or started it meanwhile).
   */
  async due(ws: WorkspaceRecord, lc: LifecycleRecord, now: number): Promise<{ ws: WorkspaceRecord } | undefined> {
    const pending = this.#pending.get(ws.id);
    if (pending === undefined || pending.at > now) return undefined;
    this.#pending.delete(ws.id);
    if (ws.status !== 'running' || !ws.accessEnabled || this.#ctx.driver.agentRunning(ws.id)) return undefined;
    if (pending.stop) {
      // on-failure and a clean exit: the workspace is done; it stops (a user's start runs it again).
      const stopped = await powerLocked(this.#ctx, ws, 'stop');
      lc.stoppedBy = 'failure';
      lc.wakeOnTraffic = false;
      return { ws: stopped };
    }
    if (lc.maxRestarts > 0 && lc.restartCount >= lc.maxRestarts) {
      addEvent(lc, { type: 'restart_limit', detail: `${lc.restartCount} restarts (max_restarts ${lc.maxRestarts}): stopped` });
      const stopped = await powerLocked(this.#ctx, ws, 'stop');
      lc.stoppedBy = 'failure';
      lc.wakeOnTraffic = false;
      return { ws: stopped };
    }
    lc.restartCount++;
    lc.lastRestartAt = new Date(now).toISOString();
    try {
      const restarted = await powerLocked(this.#ctx, ws, 'restart');
      addEvent(lc, { type: 'restart', detail: `attempt ${lc.restartCount} (${pending.reason})` });
      this.#ctx.log.info({ workspace: ws.id, attempt: lc.restartCount }, 'workspace restarted by its restart policy');
      return { ws: restarted };
    } catch (err) {
      addEvent(lc, { type: 'restart_failed', detail: (err as Error).message.slice(0, 300) });
      this.#pending.set(ws.id, { at: Date.now() + this.#backoff(lc.restartCount), reason: pending.reason, stop: false });
      return { ws: (await this.#ctx.store.getWorkspace(ws.id)) ?? ws };
    }
  }

  #backoff(count: number): number {
    return Math.min(this.#opts.maxBackoffMs, this.#opts.restartBackoffMs * 2 ** Math.min(count, 20));
  }

  /** Checks the watched workspaces' agents; one that should run and does not is suspected dead. */
  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      for (const id of this.#policies.keys()) {
        if (this.#pending.has(id) || this.#ctx.driver.agentRunning(id)) continue;
        await this.#suspect(id, 'its agent is not running', false);
      }
    } catch (err) {
      this.#ctx.log.warn({ err: (err as Error).message }, 'restart check failed');
    } finally {
      this.#checking = false;
    }
  }

  /** Confirms under the workspace's lock (a user's stop or restart in progress is no death), then schedules. */
  async #suspect(id: string, reason: string, clean: boolean): Promise<void> {
    const policy = this.#policies.get(id);
    if (policy === undefined) {
      await this.#deps.failed?.(id, reason);
      return;
    }
    if (this.#pending.has(id)) return;
    const dead = await this.#ctx.locks.run(id, async () => {
      const ws = await this.#ctx.store.getWorkspace(id);
      return ws !== undefined && ws.status === 'running' && ws.accessEnabled && !this.#ctx.driver.agentRunning(id);
    });
    if (!dead || this.#pending.has(id)) return;
    if (clean && policy.policy === 'on-failure') {
      this.#pending.set(id, { at: Date.now(), reason, stop: true });
      await this.#deps.record(id, (lc) => addEvent(lc, { type: 'agent_exited', detail: `${reason}: not restarted (on-failure)` }));
      return;
    }
    const delay = this.#backoff(policy.restartCount);
    this.#pending.set(id, { at: Date.now() + delay, reason, stop: false });
    await this.#deps.record(id, (lc) => addEvent(lc, { type: 'agent_exited', detail: `${reason}; restarting in ${delay} ms` }));
  }
}
