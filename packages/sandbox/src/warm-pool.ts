// The warm pool: workspaces kept fully ready (disk, overlay, network, container, running agent with a
// throw-away token) that matching creates adopt. One pool per image and disk size in use: the default
// image and size always (at least `size` ready), another one once creates ask for it often. Each is sized to
// its recent demand within a memory bound, and refilled at once, several slots at a time (bounded by the
// CPUs). A create that finds its pool empty while the pool is making slots waits for the next one instead of
// making its own: the burst is served in order, as fast as the host can make workspaces.
//
// Forks have pools of their own (per image, once a fork of it came): containers whose agent is armed (node up,
// the agent loaded, not started). A fork's child takes one: its disk replaces the pooled one under the running
// container (disk.ts `replaceRunningDisk`: the container's root is switched), and its agent then starts on it.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkspaceSpec } from '@cove/protocol';
import type { Logger } from 'pino';
import { AGENT_STATE_DIR } from './agent-files.js';
import type { Agents } from './agents.js';
import type { Containers } from './containers.js';
import { replaceRunningDisk } from './disk.js';
import { warmPooledAgent } from './pool-warmup.js';
import type { WarmPoolOptions } from './sandbox-options.js';
import type { Slots, WorkspaceState } from './slots.js';
import { cloneDisk, poolDisk } from './snapshots/disk-pool.js';
import type { WorkspaceFirewall } from './workspace-firewall.js';

export interface WarmPoolDeps {
  /** No pool without options: creates never adopt and nothing is filled. */
  options: WarmPoolOptions | undefined;
  slots: Slots;
  containers: Containers;
  agents: Agents;
  log: Logger;
  /** Re-applied when a slot is adopted (it stops being dark). */
  firewall: WorkspaceFirewall;
}

/** What an idle pooled workspace is taken to hold (agent, tini, page cache), for the memory bound. */
const SLOT_MEMORY_MB = 40;
/** How long a create counts as recent demand. */
const DEFAULT_WINDOW_MS = 10 * 60_000;
/** Creates within the window that give another image and size a pool of its own. */
const DEFAULT_OTHER_AFTER = 3;
/** After a failed make, the pool waits this long before trying again (a broken image must not spin). */
const RETRY_MS = 5_000;
/**
 * The own disk of a fork's pooled container: replaced by the fork's, it only keeps the log its processes write
 * to until the workspace's next start (its size bounds that log, as every workspace's disk bounds its own).
 */
const ARMED_DISK_MB = 64;
/** Armed containers kept while forks come (at least): a refill takes longer than a fork's child takes to start. */
const ARMED_MIN = 2;
/**
 * How long refills wait after a fork's child took a pooled container, unless its agent starts before: the
 * agent's start is what the fork waits for, and a refill (a container and a node of its own) would take half
 * of a two-CPU host from it.
 */
const QUIET_MS = 3_000;

/** One image and disk size's pool. */
interface Pool {
  /** The image's id (the store's), as workspaces record it. */
  image: string;
  diskMb: number;
  /** Ready slots, oldest first. */
  ready: WorkspaceState[];
  /** Slots being made. */
  making: number;
  /** Creates waiting for the next slot made (resolved with it, or undefined: make it cold). */
  waiters: Array<(slot: WorkspaceState | undefined) => void>;
  /** When recent creates of this image and size came (the window's). */
  demand: number[];
  /** Ready slots kept whatever the demand (the default pool's `size`; 0 for the others). */
  floor: number;
  /** No make before this time (after a failure). */
  retryAt: number;
  /** A fork pool: its containers' agents are armed (see `adoptForFork`), never adopted by a create. */
  armed: boolean;
  /** A fork pool's recent forks: when, and how many children each asked for. */
  forks: Array<{ at: number; count: number }>;
}

export class WarmPool {
  readonly #deps: WarmPoolDeps;
  readonly #pools = new Map<string, Pool>();
  /** Slot makes under way, over every pool. */
  #active = 0;
  /** Makes allowed at once: a make is partly CPU (the agent's start), partly waiting on the kernel and runc. */
  readonly #concurrency: number;
  readonly #windowMs: number;
  readonly #otherAfter: number;
  /** Most pooled slots (ready and being made, over every pool) the memory bound allows. */
  readonly #cap: number;
  readonly #running = new Set<Promise<void>>();
  #trimTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Refills other than for waiting creates start after this time (see QUIET_MS). */
  #quietUntil = 0;
  #quietTimer: NodeJS.Timeout | undefined;

  constructor(deps: WarmPoolDeps) {
    this.#deps = deps;
    const o = deps.options;
    this.#concurrency = Math.max(1, o?.concurrency ?? os.availableParallelism() + 1);
    this.#windowMs = o?.demandWindowMs ?? DEFAULT_WINDOW_MS;
    this.#otherAfter = o?.otherImagesAfter ?? DEFAULT_OTHER_AFTER;
    const memoryMb = o?.memoryMb ?? Math.floor(os.totalmem() / 1024 / 1024 / 8);
    const byMemory = Math.floor(memoryMb / SLOT_MEMORY_MB);
    this.#cap = Math.max(o?.size ?? 0, Math.min(o?.maxSize ?? 32, byMemory));
  }

  /** Whether a create of `image` with a disk of `diskMb` would adopt a slot ready now (no disk to make). */
  hasReady(image: string, diskMb: number): boolean {
    if (!this.#deps.options || this.#closed) return false;
    return (this.#pools.get(key(image, diskMb, false))?.ready.length ?? 0) > 0;
  }

  /** Adopts a pooled workspace for `spec` when one matches (waiting for one being made); false: create it cold. */
  async adopt(spec: WorkspaceSpec, image: string): Promise<boolean> {
    if (!this.#deps.options || this.#closed) return false;
    const pool = this.#poolFor(image, spec.diskMb, false);
    const now = Date.now();
    pool.demand.push(now);
    this.#forgetOld(pool, now);
    let slot = pool.ready.shift();
    if (!slot && this.#target(pool) > 0 && now >= pool.retryAt) {
      // Being made, or about to be: this create takes the next one rather than competing with the refill.
      const next = new Promise<WorkspaceState | undefined>((resolve) => pool.waiters.push(resolve));
      this.#pump();
      slot = await next;
    }
    this.#pump();
    if (!slot) return false;
    // Claimed before anything else runs, so that no refill hands out its address again.
    this.#deps.slots.spare.delete(slot);
    slot.id = spec.id;
    this.#deps.slots.states.set(spec.id, slot);
    try {
      // The pool's limits become the workspace's; its address, disk and agent are kept.
      await Promise.all([this.#deps.containers.setLimits(slot.slot, spec), this.#deps.slots.save(slot), this.#deps.firewall.apply()]);
      this.#deps.log.debug({ workspace: spec.id, slot: slot.slot }, 'adopted a pooled workspace');
      return true;
    } catch (err) {
      this.#deps.slots.states.delete(spec.id);
      slot.id = '';
      await this.#deps.containers.removeSlot(slot).catch(() => {});
      this.#deps.log.warn({ err: (err as Error).message }, 'could not adopt a pooled workspace; creating one');
      return false;
    }
  }

  /** Starts filling the pools (the default one to its floor at first), in the background. */
  fill(): void {
    const o = this.#deps.options;
    if (!o || this.#closed) return;
    if (!this.#trimTimer) {
      // Pools whose demand is gone shrink back (checked now and then; the timer keeps nothing alive).
      this.#trimTimer = setInterval(() => void this.#trim(), Math.min(60_000, this.#windowMs)).unref();
    }
    const image = this.#deps.slots.resolveImage(o.image);
    if (image === undefined) {
      this.#deps.log.warn({ image: o.image }, 'warm pool: the image is not in the store yet; the pool fills once a create pulls it');
      return;
    }
    this.#poolFor(image, o.diskMb, false);
    this.#pump();
  }

  /** Resolves once the default pool holds its floor of ready slots (benchmarks and tests; creates never wait for it). */
  async ready(timeoutMs: number): Promise<void> {
    const o = this.#deps.options;
    if (!o || o.size === 0) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const image = this.#deps.slots.resolveImage(o.image);
      const pool = image === undefined ? undefined : this.#pools.get(key(image, o.diskMb, false));
      if (pool && pool.ready.length >= o.size) return;
      if (Date.now() > deadline) throw new Error('the warm pool did not fill in time');
      this.fill();
      await delay(20);
    }
  }

  /** Ready slots per image and disk size (tools and tests). */
  sizes(): Array<{ image: string; diskMb: number; forks: boolean; ready: number; making: number; target: number }> {
    return [...this.#pools.values()].map((p) => ({
      image: p.image,
      diskMb: p.diskMb,
      forks: p.armed,
      ready: p.ready.length,
      making: p.making,
      target: this.#target(p),
    }));
  }

  /** Removes the pooled slots (ready and being made), and makes no more. Waiting creates go cold. */
  async drain(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#trimTimer);
    clearTimeout(this.#quietTimer);
    for (const pool of this.#pools.values()) for (const waiter of pool.waiters.splice(0)) waiter(undefined);
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    const ready = [...this.#pools.values()].flatMap((p) => p.ready.splice(0));
    for (const slot of ready) this.#deps.slots.spare.delete(slot);
    for (const slot of ready) await this.#discard(slot);
  }

  #poolFor(image: string, diskMb: number, armed: boolean): Pool {
    const k = key(image, diskMb, armed);
    let pool = this.#pools.get(k);
    if (!pool) {
      const o = this.#deps.options;
      const isDefault = !armed && o !== undefined && diskMb === o.diskMb && this.#deps.slots.resolveImage(o.image) === image;
      const floor = isDefault ? (o?.size ?? 0) : 0;
      pool = { image, diskMb, ready: [], making: 0, waiters: [], demand: [], floor, retryAt: 0, armed, forks: [] };
      this.#pools.set(k, pool);
    }
    return pool;
  }

  /**
   * Gives a fork's child (`spec`, its disk a clone of `source`, or `source` itself when `take`; owners in
   * `diskBase`'s range) a pooled container of `image` whose agent is armed; false when none is ready (the child
   * is made cold). The disk replaces the pooled one under the running container; the agent starts on it at
   * `startAgent`. The slot keeps its own id range, address and namespaces, as an adopted create's does.
   */
  async adoptForFork(spec: WorkspaceSpec, image: string, diskBase: number, source: string, take = false): Promise<boolean> {
    const disks = this.#deps.slots.pool;
    if (!this.#deps.options || this.#closed || !disks) return false;
    const pool = this.#poolFor(image, ARMED_DISK_MB, true);
    const slot = pool.ready.shift();
    if (!slot) return false;
    // Its refill waits until the child's agent has started (`agentStarted`).
    this.#quiet(Date.now() + QUIET_MS);
    const { slots, containers } = this.#deps;
    slots.spare.delete(slot);
    slot.id = spec.id;
    slots.states.set(spec.id, slot);
    // The child's limits, meanwhile (its container's cgroup is not the disk's business).
    const limits = containers.setLimits(slot.slot, spec);
    limits.catch(() => {});
    const target = poolDisk(disks, slot.slot);
    try {
      const pid = containers.livePid(slot.slot);
      if (pid === undefined) throw new Error('its container is gone');
      await slots.checkReserve(spec.diskMb);
      if (diskBase !== slot.idRange.base) slot.diskBase = diskBase;
      const info = await slots.images.ensure(image);
      const layout = slots.layout(slot.slot);
      await replaceRunningDisk(layout, info, slot.idRange, slots.usernsFile(slot.slot), diskBase, pid, () =>
        take ? rename(source, target) : cloneDisk(disks, source, target),
      );
      // Its bundle a plain workspace's, for the agent's or the workspace's next start.
      await Promise.all([limits, containers.rewriteBundle(spec, slot), slots.save(slot)]);
      this.#deps.log.debug({ workspace: spec.id, slot: slot.slot }, "a fork's child took a pooled container");
      return true;
    } catch (err) {
      // A clone taken whole goes back, for the child to be made cold from it.
      if (take && !existsSync(source)) await rename(target, source).catch(() => {});
      slots.states.delete(spec.id);
      slot.id = '';
      delete slot.diskBase;
      await this.#deps.agents.disarmed(slot.slot).catch(() => {});
      await containers.removeSlot(slot).catch(() => {});
      // The reserve's refusal is the fork's answer; anything else makes the child cold.
      if ((err as { code?: string }).code === 'insufficient_storage') throw err;
      this.#deps.log.warn({ err: (err as Error).message }, "a fork's child could not take a pooled container; making it");
      return false;
    }
  }

  /** A workspace's agent started: refills held for it go on. */
  agentStarted(): void {
    if (this.#quietUntil === 0) return;
    this.#quiet(0);
  }

  #quiet(until: number): void {
    this.#quietUntil = until;
    clearTimeout(this.#quietTimer);
    this.#quietTimer = until === 0 ? undefined : setTimeout(() => this.#quiet(0), until - Date.now()).unref();
    if (until === 0) this.#pump();
  }

  /** A fork of `image` asked for `count` children: its pool of armed containers is sized to recent forks. */
  noteFork(image: string, count: number): void {
    if (!this.#deps.options || this.#closed || !this.#deps.slots.pool) return;
    const pool = this.#poolFor(image, ARMED_DISK_MB, true);
    const now = Date.now();
    pool.forks.push({ at: now, count });
    this.#forgetOld(pool, now);
    this.#pump();
  }

  /**
   * How many ready slots `pool` should hold: the default pool its floor, or as many as creates asked for in
   * the window when that is more; another image and size as many as its creates in the window once they are
   * `otherImagesAfter` or more, else none.
   */
  #target(pool: Pool): number {
    // A fork pool: the most children a recent fork asked for, and a few while forks keep coming.
    if (pool.armed) return pool.forks.length === 0 ? 0 : Math.max(ARMED_MIN, ...pool.forks.map((f) => f.count));
    const recent = pool.demand.length;
    if (pool.floor > 0) return Math.max(pool.floor, recent);
    return recent >= this.#otherAfter ? recent : 0;
  }

  #forgetOld(pool: Pool, now: number): void {
    const since = now - this.#windowMs;
    while (pool.demand.length > 0 && (pool.demand[0] as number) < since) pool.demand.shift();
    while (pool.forks.length > 0 && (pool.forks[0]?.at ?? 0) < since) pool.forks.shift();
  }

  /** Pooled slots over every pool, ready and being made (what the memory bound counts). */
  #pooled(): number {
    let n = 0;
    for (const p of this.#pools.values()) n += p.ready.length + p.making;
    return n;
  }

  /**
   * Starts makes while some pool needs slots and fewer than `concurrency` are under way: waiting creates
   * first (they are served whatever the bound: each would otherwise make its own), then the pool that is
   * furthest below its target, within the memory bound.
   */
  #pump(): void {
    if (this.#closed) return;
    const now = Date.now();
    const quiet = now < this.#quietUntil;
    while (this.#active < this.#concurrency) {
      let best: Pool | undefined;
      let bestNeed = 0;
      for (const pool of this.#pools.values()) {
        if (now < pool.retryAt) continue;
        // Slots under way serve the waiters first.
        const forWaiters = pool.waiters.length - pool.making;
        const spare = this.#target(pool) - (pool.ready.length + Math.max(0, pool.making - pool.waiters.length));
        const need = forWaiters > 0 ? forWaiters + 1_000_000 : !quiet && this.#pooled() < this.#cap ? spare : 0;
        if (need > bestNeed) {
          best = pool;
          bestNeed = need;
        }
      }
      if (!best) return;
      this.#make(best);
    }
  }

  #make(pool: Pool): void {
    this.#active++;
    pool.making++;
    const job = this.#makeSlot(pool)
      .then(
        (slot) => {
          if (this.#closed) return this.#discard(slot);
          const waiter = pool.waiters.shift();
          if (waiter) waiter(slot);
          else pool.ready.push(slot);
        },
        (err: Error) => {
          this.#deps.log.error({ err: err.message, image: pool.image, diskMb: pool.diskMb }, 'warm pool: could not prepare a workspace');
          pool.retryAt = Date.now() + RETRY_MS;
          // Waiting creates go cold: they may well fail the same way, but with their own error.
          for (const waiter of pool.waiters.splice(0)) waiter(undefined);
        },
      )
      .finally(() => {
        this.#active--;
        pool.making--;
        this.#running.delete(job);
        this.#pump();
      });
    this.#running.add(job);
  }

  async #makeSlot(pool: Pool): Promise<WorkspaceState> {
    const slotName = `wp_${randomBytes(6).toString('hex')}`;
    const state = await this.#deps.slots.make(slotName, '', pool.image, pool.diskMb);
    try {
      await this.#deps.containers.create({ cpus: 1, memoryMb: 1024 }, state, pool.armed);
      // The pooled agent gets a random token nobody else knows; startAgent replaces it.
      const token = randomBytes(32).toString('hex');
      await this.#deps.agents.writeToken(state, token);
      const pid = await this.#deps.agents.launch(slotName, pool.armed);
      if (pool.armed) return state;
      // Its first command is run now (pool-warmup.ts) unless a create is waiting for this very slot: that one
      // would only wait for the warm-up as long as it saves on its own first exec.
      if (pool.waiters.length === 0) await warmPooledAgent(`/proc/${pid}/root${AGENT_STATE_DIR}/agent.sock`, token);
      return state;
    } catch (err) {
      await this.#discard(state);
      throw err;
    }
  }

  async #discard(slot: WorkspaceState): Promise<void> {
    this.#deps.slots.spare.delete(slot);
    await this.#deps.agents.disarmed(slot.slot).catch(() => {});
    await this.#deps.containers.removeSlot(slot).catch(() => {});
  }

  /** Removes ready slots above their pool's target (oldest first) once its demand has passed; refills the rest. */
  async #trim(): Promise<void> {
    const now = Date.now();
    const extra: WorkspaceState[] = [];
    for (const [k, pool] of this.#pools) {
      this.#forgetOld(pool, now);
      const over = pool.ready.length - this.#target(pool);
      if (over > 0) extra.push(...pool.ready.splice(0, over));
      if (pool.floor === 0 && pool.ready.length === 0 && pool.making === 0 && pool.demand.length === 0 && pool.forks.length === 0) {
        this.#pools.delete(k);
      }
    }
    for (const slot of extra) await this.#discard(slot);
    this.#pump();
  }
}

function key(image: string, diskMb: number, armed: boolean): string {
  return `${image}\0${diskMb}\0${armed ? 'fork' : 'create'}`;
}
