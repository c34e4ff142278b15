// The lifecycle engine: TTLs, idle policies, wake on traffic, restart policies and remove-on-exit, driven by one
// deadline queue over state kept in the store (docs/decisions.md, "Lifecycle").
import { AppError } from '@cove/protocol';
import type { LifecycleRecord, StoppedBy, WorkspaceRecord } from '../store/records.js';
import { type ControlContext, ownedWorkspace } from './context.js';
import { askActivity } from './lifecycle-activity.js';
import { DeadlineQueue } from './lifecycle-deadlines.js';
import { stopFailed } from './lifecycle-failures.js';
import type { LifecycleHooks, UserVerb } from './lifecycle-hooks.js';
import {
  addEvent,
  type CreateLifecycle,
  defaultLifecycle,
  idleDeadline,
  nextDeadline,
  presentLifecycle,
  ttlDeadline,
} from './lifecycle-policy.js';
import { RestartWatch } from './lifecycle-restarts.js';
import { deleteWorkspace, powerLocked } from './workspaces.js';

export interface LifecycleOptions {
  /** How often running workspaces with a restart policy are checked for a dead agent (ms). Default 1000. */
  watchMs?: number;
  /** The first restart's delay (ms), doubled for each restart in a row up to `maxBackoffMs`. Default 1000. */
  restartBackoffMs?: number;
  /** Default 60 000. */
  maxBackoffMs?: number;
  /** How long an agent may take to say what uses it (ms). Default 2000. */
  activityTimeoutMs?: number;
  /** How soon a failed lifecycle step is tried again (ms). Default 5000. */
  retryMs?: number;
}

type Outcome = 'remove' | undefined;

export class Lifecycle implements LifecycleHooks {
  readonly #ctx: ControlContext;
  readonly #opts: Required<LifecycleOptions>;
  readonly #queue: DeadlineQueue;
  readonly #restarts: RestartWatch;
  readonly #wakes = new Map<string, Promise<void>>();
  #closed = false;

  constructor(ctx: ControlContext, options: LifecycleOptions = {}) {
    this.#ctx = ctx;
    this.#opts = {
      watchMs: options.watchMs ?? 1000,
      restartBackoffMs: options.restartBackoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 60_000,
      activityTimeoutMs: options.activityTimeoutMs ?? 2000,
      retryMs: options.retryMs ?? 5000,
    };
    this.#queue = new DeadlineQueue((id) => void this.#due(id));
    this.#restarts = new RestartWatch(ctx, this.#opts, {
      record: (id, change) => this.#change(id, change),
      failed: (id, reason) => stopFailed(ctx, id, reason, (i, change) => this.#change(i, change)),
    });
  }

  /**
   * Re-arms every deadline from the store (what fell due while the control plane was down is due now, so it
   * happens at once) and starts watching for dead agents. Called after the running workspaces are restored.
   */
  async start(): Promise<void> {
    this.#ctx.lifecycle = this;
    for (const lc of await this.#ctx.store.listLifecycles()) {
      const ws = await this.#ctx.store.getWorkspace(lc.workspaceId);
      if (ws) this.#schedule(ws, lc);
      this.#restarts.track(lc);
    }
    this.#restarts.start();
  }

  close(): void {
    this.#closed = true;
    this.#queue.close();
    this.#restarts.close();
    if (this.#ctx.lifecycle === this) delete this.#ctx.lifecycle;
  }

  // ---- what the routes do -------------------------------------------------------------------------------

  async get(owner: string, id: string) {
    const ws = await ownedWorkspace(this.#ctx, owner, id);
    return presentLifecycle(ws, (await this.#ctx.store.getLifecycle(id)) ?? defaultLifecycle(id, ws.createdAt), this.#ctx.driver);
  }

  /** Changes the owner's workspace's lifecycle with `mutate` (which may throw a 400 before anything is written). */
  async update(owner: string, id: string, mutate: (lc: LifecycleRecord, now: number) => void) {
    await ownedWorkspace(this.#ctx, owner, id);
    const { ws, lc } = await this.#ctx.locks.run(id, async () => {
      const ws = await ownedWorkspace(this.#ctx, owner, id);
      const lc = await this.#load(ws);
      mutate(lc, Date.now());
      await this.#save(ws, lc);
      return { ws, lc };
    });
    return presentLifecycle(ws, lc, this.#ctx.driver);
  }

  /** A create's lifecycle (checked before the workspace was made); an idempotent retry keeps the first one's. */
  async created(ws: WorkspaceRecord, plan: CreateLifecycle | undefined): Promise<void> {
    if (plan === undefined) return;
    await this.#ctx.locks.run(ws.id, async () => {
      if (await this.#ctx.store.getLifecycle(ws.id)) return;
      const lc = defaultLifecycle(ws.id, new Date().toISOString());
      plan.apply(lc, Date.now());
      await this.#save((await this.#ctx.store.getWorkspace(ws.id)) ?? ws, lc);
    });
  }

  // ---- hooks (the workspace's lock is held) ----------------------------------------------------------------

  async powered(ws: WorkspaceRecord, verb: UserVerb): Promise<void> {
    const lc = await this.#ctx.store.getLifecycle(ws.id);
    if (!lc) return;
    if (verb === 'stop' || verb === 'pause') {
      // A user's sleep: never restarted, and (stopped) never woken by traffic.
      lc.stoppedBy = 'user';
      lc.wakeOnTraffic = false;
      lc.suspendedAt = null;
    } else {
      this.#awake(lc, verb === 'resume' ? 'resume' : 'start');
      lc.restartCount = 0;
    }
    await this.#save(ws, lc);
  }

  async pinged(ws: WorkspaceRecord, ttlSeconds: number | undefined): Promise<void> {
    const lc = await this.#ctx.store.getLifecycle(ws.id);
    if (!lc) return;
    const now = Date.now();
    lc.lastActivityAt = new Date(now).toISOString();
    if (lc.mode === 'temporary') lc.expiresAt = new Date(now + (ttlSeconds ?? lc.ttlSeconds ?? 0) * 1000).toISOString();
    await this.#save(ws, lc);
  }

  // ---- wake on traffic -------------------------------------------------------------------------------------

  /**
   * Wakes a sleeping workspace for a request (the gateway's RouteSource.wake): resumes a paused one (paused by
   * anyone), starts one a policy stopped; refuses one a user stopped. Concurrent calls share one wake.
   */
  wake(id: string): Promise<void> {
    let pending = this.#wakes.get(id);
    if (pending === undefined) {
      pending = this.#ctx.locks
        .run(id, async () => {
          const ws = await this.#ctx.store.getWorkspace(id);
          if (!ws) throw new AppError('not_found', `workspace '${id}' not found`);
          if (ws.status === 'running') return;
          const lc = await this.#load(ws);
          if (ws.status === 'stopped' && !lc.wakeOnTraffic) {
            throw new AppError('service_unavailable', `workspace '${id}' was stopped; start it first`);
          }
          if (!ws.accessEnabled) throw new AppError('service_unavailable', `workspace '${id}' has no Internal API server to wake`);
          const woken = await this.#resumeOrStart(ws);
          addEvent(lc, { type: 'wake', detail: `woken by a request (was ${ws.status})` });
          this.#awake(lc, ws.status === 'paused' ? 'resume' : 'start');
          await this.#save(woken, lc);
        })
        .finally(() => this.#wakes.delete(id));
      this.#wakes.set(id, pending);
    }
    return pending;
  }

  /**
   * The wake itself. A paused workspace whose agent lived through the pause only needs thawing (what a request
   * waits for: no token re-sent, no agent restart); anything else goes the way of `resume` / `start`.
   */
  async #resumeOrStart(ws: WorkspaceRecord): Promise<WorkspaceRecord> {
    const { driver, store } = this.#ctx;
    if (ws.status === 'paused' && driver.canPause && (!ws.accessEnabled || driver.agentRunning(ws.id))) {
      await driver.resume(ws.id);
      const updated = await store.updateWorkspace(ws.id, { status: 'running' });
      if (!updated) throw new AppError('not_found', `workspace '${ws.id}' not found`);
      return updated;
    }
    return powerLocked(this.#ctx, ws, ws.status === 'paused' ? 'resume' : 'start');
  }

  // ---- the scheduler ------------------------------------------------------------------------------------

  /** A deadline came: the workspace's state is read again and what is due (if anything still is) happens. */
  async #due(id: string): Promise<void> {
    if (this.#closed) return;
    let outcome: Outcome;
    try {
      outcome = await this.#ctx.locks.run(id, () => this.#evaluate(id));
      if (outcome === 'remove') await this.#remove(id);
    } catch (err) {
      this.#ctx.log.error({ workspace: id, err: (err as Error).message }, 'lifecycle step failed; trying again');
      if (!this.#closed) this.#queue.set(id, Date.now() + this.#opts.retryMs);
    }
  }

  async #evaluate(id: string): Promise<Outcome> {
    const ws = await this.#ctx.store.getWorkspace(id);
    const lc = ws && (await this.#ctx.store.getLifecycle(id));
    if (!ws || !lc) {
      this.#queue.delete(id);
      return undefined;
    }
    const now = Date.now();
    if (ws.status === 'stopped' && lc.mode === 'temporary' && lc.removeOnExit) return this.#removing(lc, 'removed_on_exit');
    const ttl = ttlDeadline(ws, lc);
    if (ttl !== undefined && ttl <= now) {
      addEvent(lc, { type: 'ttl_expired', action: lc.ttlAction });
      if (lc.ttlAction === 'remove') return this.#removing(lc, 'ttl_expired');
      return this.#sleep(ws, lc, lc.ttlAction === 'stop' ? 'stop' : 'pause', 'ttl');
    }
    const restart = await this.#restarts.due(ws, lc, now);
    if (restart) return this.#afterRestart(restart.ws, lc);
    const idle = idleDeadline(ws, lc);
    if (idle !== undefined && idle.at <= now) {
      if (idle.step === 'stop') {
        addEvent(lc, { type: 'idle_stop', detail: `suspended for ${lc.idleStopAfter} s` });
        return this.#sleep(ws, lc, 'stop', 'idle');
      }
      const activity = await askActivity(ws, this.#ctx.driver, this.#opts.activityTimeoutMs);
      const idleMs = activity?.idle_ms;
      const lastUse = idleMs === undefined ? undefined : Date.now() - idleMs;
      if (lastUse !== undefined && lastUse + (lc.idleSuspendAfter ?? 0) * 1000 > Date.now()) {
        // In use (or used since the clock started): the clock restarts at that use. No write per request anywhere.
        lc.lastActivityAt = new Date(lastUse).toISOString();
        await this.#save(ws, lc);
        return undefined;
      }
      addEvent(lc, { type: 'idle_suspend', detail: `no activity for ${lc.idleSuspendAfter} s` });
      return this.#sleep(ws, lc, 'pause', 'idle');
    }
    this.#schedule(ws, lc);
    return undefined;
  }

  /**
   * Puts the workspace to sleep for a policy. `pause` (suspend) keeps its memory; where the driver cannot pause,
   * it stops instead and stays wakeable. A memory-to-disk suspend would replace the pause here.
   */
  async #sleep(ws: WorkspaceRecord, lc: LifecycleRecord, how: 'pause' | 'stop', by: StoppedBy): Promise<Outcome> {
    const pause = how === 'pause' && this.#ctx.driver.canPause;
    const after = await powerLocked(this.#ctx, ws, pause ? 'pause' : 'stop');
    lc.stoppedBy = by;
    lc.suspendedAt = new Date().toISOString();
    // Traffic wakes what a policy paused (or stopped in place of a pause), and what the idle policy stopped.
    lc.wakeOnTraffic = how === 'pause' || by === 'idle';
    await this.#save(after, lc);
    if (after.status === 'stopped' && lc.mode === 'temporary' && lc.removeOnExit) return this.#removing(lc, 'removed_on_exit');
    return undefined;
  }

  async #afterRestart(ws: WorkspaceRecord, lc: LifecycleRecord): Promise<Outcome> {
    await this.#save(ws, lc);
    if (ws.status === 'stopped' && lc.mode === 'temporary' && lc.removeOnExit) return this.#removing(lc, 'removed_on_exit');
    return undefined;
  }

  async #removing(lc: LifecycleRecord, why: string): Promise<Outcome> {
    this.#ctx.log.info({ workspace: lc.workspaceId, why }, 'removing workspace');
    this.#queue.delete(lc.workspaceId);
    return 'remove';
  }

  async #remove(id: string): Promise<void> {
    const ws = await this.#ctx.store.getWorkspace(id);
    if (ws) await deleteWorkspace(this.#ctx, ws.owner, id);
    this.#restarts.forget(id);
  }

  /** Clocks restart when a workspace starts or resumes; a TTL that ran out gets a fresh one. */
  #awake(lc: LifecycleRecord, how: 'start' | 'resume'): void {
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    lc.stoppedBy = null;
    lc.suspendedAt = null;
    lc.wakeOnTraffic = false;
    lc.lastActivityAt = nowIso;
    if (how === 'start' || lc.startedAt === null) lc.startedAt = nowIso;
    if (lc.mode === 'temporary' && lc.ttlSeconds !== null && (lc.expiresAt === null || Date.parse(lc.expiresAt) <= now)) {
      lc.expiresAt = new Date(now + lc.ttlSeconds * 1000).toISOString();
    }
  }

  async #load(ws: WorkspaceRecord): Promise<LifecycleRecord> {
    return (await this.#ctx.store.getLifecycle(ws.id)) ?? defaultLifecycle(ws.id, new Date().toISOString());
  }

  async #save(ws: WorkspaceRecord, lc: LifecycleRecord): Promise<void> {
    lc.updatedAt = new Date().toISOString();
    await this.#ctx.store.putLifecycle(lc);
    this.#restarts.track(lc);
    this.#schedule(ws, lc);
  }

  /** Arms the workspace's next deadline (a pending restart's included). */
  #schedule(ws: WorkspaceRecord, lc: LifecycleRecord): void {
    const restartAt = this.#restarts.pendingAt(ws.id);
    const next = nextDeadline(ws, lc);
    const at = Math.min(next ?? Number.POSITIVE_INFINITY, restartAt ?? Number.POSITIVE_INFINITY);
    if (at === Number.POSITIVE_INFINITY) this.#queue.delete(ws.id);
    else this.#queue.set(ws.id, at);
  }

  /** A change the restart watch made (an event, a count), saved under the workspace's lock. */
  async #change(id: string, change: (lc: LifecycleRecord) => void): Promise<void> {
    await this.#ctx.locks.run(id, async () => {
      const ws = await this.#ctx.store.getWorkspace(id);
      if (!ws) return;
      const lc = await this.#load(ws);
      change(lc);
      await this.#save(ws, lc);
    });
  }
}
