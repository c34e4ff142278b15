// The warm pool: workspaces kept fully ready (disk, overlay, network, container, running agent with a
// throw-away token) that matching creates adopt. One pool per image and disk size in use: the default
// image and size always (at least `size` ready), another one once creates ask for it often. Each is sized to
// its recent demand within a memory bound, and refilled at once, several slots at a time (bounded by the
// CPUs). A create that finds its pool empty while the pool is making slots waits for the next one instead of
// making its own: the burst is served in order, as fast as the host can make workspaces.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkspaceSpec } from '@cove/protocol';
import type { Logger } from 'pino';
import type { Agents } from './agents.js';
import type { Containers } from './containers.js';
import type { WarmPoolOptions } from './sandbox-options.js';
import type { Slots, WorkspaceState } from './slots.js';
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

  /** Adopts a pooled workspace for `spec` when one matches (waiting for one being made); false: create it cold. */
  async adopt(spec: WorkspaceSpec, image: string): Promise<boolean> {
    if (!this.#deps.options || this.#closed) return false;
    const pool = this.#poolFor(image, spec.diskMb);
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
    this.#poolFor(image, o.diskMb);
    this.#pump();
  }

  /** Resolves once the default pool holds its floor of ready slots (benchmarks and tests; creates never wait for it). */
  async ready(timeoutMs: number): Promise<void> {
    const o = this.#deps.options;
    if (!o || o.size === 0) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const image = this.#deps.slots.resolveImage(o.image);
      const pool = image === undefined ? undefined : this.#pools.get(key(image, o.diskMb));
      if (pool && pool.ready.length >= o.size) return;
      if (Date.now() > deadline) throw new Error('the warm pool did not fill in time');
      this.fill();
      await delay(20);
    }
  }

  /** Ready slots per image and disk size (tools and tests). */
  sizes(): Array<{ image: string; diskMb: number; ready: number; making: number; target: number }> {
    return [...this.#pools.values()].map((p) => ({
      image: p.image,
      diskMb: p.diskMb,
      ready: p.ready.length,
      making: p.making,
      target: this.#target(p),
    }));
  }

  /** Removes the pooled slots (ready and being made), and makes no more. Waiting creates go cold. */
  async drain(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#trimTimer);
    for (const pool of this.#pools.values()) for (const waiter of pool.waiters.splice(0)) waiter(undefined);
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    const ready = [...this.#pools.values()].flatMap((p) => p.ready.splice(0));
    for (const slot of ready) this.#deps.slots.spare.delete(slot);
    for (const slot of ready) await this.#deps.containers.removeSlot(slot).catch(() => {});
  }

  #poolFor(image: string, diskMb: number): Pool {
    const k = key(image, diskMb);
    let pool = this.#pools.get(k);
    if (!pool) {
      const o = this.#deps.options;
      const isDefault = o !== undefined && diskMb === o.diskMb && this.#deps.slots.resolveImage(o.image) === image;
      pool = { image, diskMb, ready: [], making: 0, waiters: [], demand: [], floor: isDefault ? (o?.size ?? 0) : 0, retryAt: 0 };
      this.#pools.set(k, pool);
    }
    return pool;
  }

  /**
   * How many ready slots `pool` should hold: the default pool its floor, or as many as creates asked for in
   * the window when that is more; another image and size as many as its creates in the window once they are
   * `otherImagesAfter` or more, else none.
   */
  #target(pool: Pool): number {
    const recent = pool.demand.length;
    if (pool.floor > 0) return Math.max(pool.floor, recent);
    return recent >= this.#otherAfter ? recent : 0;
  }

  #forgetOld(pool: Pool, now: number): void {
    const since = now - this.#windowMs;
    while (pool.demand.length > 0 && (pool.demand[0] as number) < since) pool.demand.shift();
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
    while (this.#active < this.#concurrency) {
      let best: Pool | undefined;
      let bestNeed = 0;
      for (const pool of this.#pools.values()) {
        if (now < pool.retryAt) continue;
        // Slots under way serve the waiters first.
        const forWaiters = pool.waiters.length - pool.making;
        const spare = this.#target(pool) - (pool.ready.length + Math.max(0, pool.making - pool.waiters.length));
        const need = forWaiters > 0 ? forWaiters + 1_000_000 : this.#pooled() < this.#cap ? spare : 0;
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
      await this.#deps.containers.create({ cpus: 1, memoryMb: 1024 }, state);
      // The pooled agent gets a random token nobody knows; startAgent replaces it.
      await this.#deps.agents.writeToken(state, randomBytes(32).toString('hex'));
      await this.#deps.agents.launch(slotName);
      return state;
    } catch (err) {
      await this.#discard(state);
      throw err;
    }
  }

  async #discard(slot: WorkspaceState): Promise<void> {
    this.#deps.slots.spare.delete(slot);
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
      if (pool.floor === 0 && pool.ready.length === 0 && pool.making === 0 && pool.demand.length === 0) this.#pools.delete(k);
    }
    for (const slot of extra) await this.#discard(slot);
    this.#pump();
  }
}

function key(image: string, diskMb: number): string {
  return `${image}\0${diskMb}`;
}
