// The warm pool: workspaces kept fully ready (disk, overlay, network, container, running agent with a
// throw-away token) that matching creates adopt, refilled in the background one slot at a time.
import { randomBytes } from 'node:crypto';
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

export class WarmPool {
  readonly #deps: WarmPoolDeps;
  /** Ready slots (agent running with a throw-away token); they and the slots being made are `slots.spare`. */
  readonly #ready: WorkspaceState[] = [];
  #filling = false;
  #closed = false;

  constructor(deps: WarmPoolDeps) {
    this.#deps = deps;
  }

  /** Adopts a pooled workspace for `spec` when one matches; false when the create must go cold. */
  async adopt(spec: WorkspaceSpec, image: string): Promise<boolean> {
    const pool = this.#deps.options;
    // The pool's image by id: a reference the store does not have (yet) matches nothing.
    if (!pool || this.#deps.slots.resolveImage(pool.image) !== image || pool.diskMb !== spec.diskMb) return false;
    const slot = this.#ready.shift();
    if (slot) {
      // Claimed before the refill starts, so that the refill never hands out its address again.
      this.#deps.slots.spare.delete(slot);
      slot.id = spec.id;
      this.#deps.slots.states.set(spec.id, slot);
    }
    // The refill waits a moment: a cold agent start competing for the CPU would slow this create and the next ones.
    setTimeout(() => this.fill(), slot ? 1000 : 0).unref();
    if (!slot) return false;
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

  /** Tops the pool up in the background, one slot at a time. */
  fill(): void {
    const pool = this.#deps.options;
    if (!pool || this.#filling || this.#closed) return;
    this.#filling = true;
    const fill = async () => {
      const image = this.#deps.slots.imageId(pool.image);
      while (!this.#closed && this.#ready.length < pool.size) {
        const slotName = `wp_${randomBytes(6).toString('hex')}`;
        const state = await this.#deps.slots.make(slotName, '', image, pool.diskMb);
        try {
          await this.#deps.containers.create({ cpus: 1, memoryMb: 1024 }, state);
          // The pooled agent gets a random token nobody knows; startAgent replaces it.
          await this.#deps.agents.writeToken(state, randomBytes(32).toString('hex'));
          await this.#deps.agents.launch(slotName);
        } catch (err) {
          this.#deps.slots.spare.delete(state);
          await this.#deps.containers.removeSlot(state).catch(() => {});
          throw err;
        }
        if (this.#closed) {
          this.#deps.slots.spare.delete(state);
          await this.#deps.containers.removeSlot(state).catch(() => {});
        } else this.#ready.push(state);
      }
    };
    fill()
      .catch((err: Error) => this.#deps.log.error({ err: err.message }, 'warm pool: could not prepare a workspace'))
      .finally(() => {
        this.#filling = false;
      });
  }

  /** Resolves once the pool is full (benchmarks and tests; creates never wait for it). */
  async ready(timeoutMs: number): Promise<void> {
    const size = this.#deps.options?.size ?? 0;
    const deadline = Date.now() + timeoutMs;
    while (this.#ready.length < size) {
      if (Date.now() > deadline) throw new Error('the warm pool did not fill in time');
      this.fill();
      await delay(20);
    }
  }

  /** Removes the pooled slots (ready and being made), and makes no more. */
  async drain(): Promise<void> {
    this.#closed = true;
    while (this.#filling) await delay(20);
    const ready = this.#ready.splice(0);
    for (const slot of ready) this.#deps.slots.spare.delete(slot);
    for (const slot of ready) await this.#deps.containers.removeSlot(slot).catch(() => {});
  }
}
