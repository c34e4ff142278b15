// Keeps the driver's nftables table in step with its workspaces' network settings: the whole table is
// re-rendered from every workspace's state and replaced at once. Pool slots have no rules (they are dark).
// Host names of egress allow-lists are resolved when a network is applied, and again periodically: the table
// follows their answers as they change (replaced only when the rendered table differs).
import type { Logger } from 'pino';
import type { AddressPlan } from './addresses.js';
import { type EgressLookup, hostnameOf, isAddressEntry } from './egress.js';
import { type FirewallEntry, removeTable, renderTable, serializeTable } from './firewall.js';
import { type AppliedTable, applyTable } from './firewall-update.js';
import { slotNameservers } from './resolv-conf.js';
import type { KeyedSerial } from './serial.js';
import type { Slots, WorkspaceState } from './slots.js';

export interface WorkspaceFirewallDeps {
  /** The nftables table (family inet) this driver owns. */
  table: string;
  plan: AddressPlan;
  agentPort: number;
  slots: Slots;
  /** Firewall changes are global (one serial for the driver's global changes). */
  global: KeyedSerial;
  log: Logger;
  /** Resolves egress host names to IPv4 addresses. */
  lookup: EgressLookup;
  /** How often egress host names are resolved again (ms). */
  refreshMs: number;
}

/** The host names of an egress allow-list (its addresses and ranges are taken as they are). */
function egressHostnames(state: WorkspaceState): string[] {
  return (state.network.egress ?? []).flatMap((e) => (isAddressEntry(e.trim()) ? [] : (hostnameOf(e) ?? [])));
}

export class WorkspaceFirewall {
  readonly #deps: WorkspaceFirewallDeps;
  /** The last answer for each egress host name in use (sorted addresses; none when it did not resolve). */
  readonly #answers = new Map<string, string[]>();
  #applied: string | undefined;
  /** The table as applied, with its rules' handles: a change that only adds is made in place (firewall-update.ts). */
  #table: AppliedTable | undefined;
  /** Writes waiting for their turn, by kind (forced or not): later calls join them. */
  readonly #queued = new Map<boolean, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;

  constructor(deps: WorkspaceFirewallDeps) {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(deps.table)) throw new Error(`invalid nftables table name '${deps.table}'`);
    this.#deps = deps;
  }

  get table(): string {
    return this.#deps.table;
  }

  /**
   * Re-renders and replaces the whole table (atomic; live when nft returns). Egress host names of `fresh`
   * (the workspace ids whose network was just set) are resolved again; others only when not known yet.
   */
  async apply(fresh: readonly string[] = []): Promise<void> {
    const names = new Set<string>();
    for (const state of this.#deps.slots.states.values()) {
      for (const name of egressHostnames(state)) if (fresh.includes(state.id) || !this.#answers.has(name)) names.add(name);
    }
    await this.#resolve(names);
    await this.#write(true);
  }

  /** Starts resolving the egress host names again every `refreshMs` (the timer does not keep the process alive). */
  startRefresh(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.refresh(), this.#deps.refreshMs);
    this.#timer.unref();
  }

  stopRefresh(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves every egress host name in use again; the table is replaced only when that changes it. */
  async refresh(): Promise<void> {
    if (this.#refreshing) return;
    this.#refreshing = true;
    try {
      const names = new Set([...this.#deps.slots.states.values()].flatMap(egressHostnames));
      for (const name of this.#answers.keys()) if (!names.has(name)) this.#answers.delete(name);
      await this.#resolve(names);
      await this.#write(false);
    } catch (err) {
      this.#deps.log.warn({ err }, 'egress refresh failed');
    } finally {
      this.#refreshing = false;
    }
  }

  async #resolve(names: Iterable<string>): Promise<void> {
    await Promise.all(
      [...names].map(async (name) => {
        let failure: unknown;
        const found = await this.#deps.lookup(name).catch((err: unknown) => {
          failure = err;
          return [];
        });
        const addresses = [...new Set(found.filter(isAddressEntry))].sort();
        // Logged when a name stops giving addresses (not at every refresh while it gives none).
        if (addresses.length === 0 && this.#answers.get(name)?.length !== 0)
          this.#deps.log.warn({ host: name, err: failure }, 'egress host name did not resolve to an IPv4 address; it allows none');
        this.#answers.set(name, addresses);
      }),
    );
  }

  /**
   * Renders the table from the workspaces' states and replaces it (`force`), or only when it changed. A call
   * while a write of the same kind waits its turn joins that write: it renders the states when it starts, so
   * it has every change made before the call. A burst of creates then pays for a few writes, not one each.
   */
  #write(force: boolean): Promise<void> {
    const queued = this.#queued.get(force);
    if (queued) return queued;
    const write = this.#deps.global.run('firewall', async () => {
      this.#queued.delete(force);
      const states = this.#deps.slots.states;
      const entries: FirewallEntry[] = await Promise.all(
        [...states.values()].map(async (s) => ({
          id: s.slot,
          ip: s.ip,
          publicAccess: s.network.publicAccess,
          exposesPorts: (s.network.exposedPorts ?? []).length > 0,
          allowInternet: s.network.allowInternet,
          // Links resolve by id to this driver's own addresses: a deleted peer's address, reused later, gains nothing.
          linkedIps: s.network.privateLinkIds.flatMap((peer) => {
            const ip = states.get(peer)?.ip;
            return ip ? [ip] : [];
          }),
          ingressPorts: s.network.ingressPorts,
          // A non-empty list restricts even when none of its entries gives an address (closed, not open).
          egress: (s.network.egress ?? []).length === 0 ? null : s.network.egress.flatMap((e) => this.#addresses(e)),
          resolvers: await slotNameservers(this.#deps.slots.resolvConfFile(s.slot)),
        })),
      );
      const model = renderTable(
        { table: this.table, subnet: this.#deps.plan.cidr, hostAddress: this.#deps.plan.hostAddress, agentPort: this.#deps.agentPort },
        entries,
      );
      const ruleset = serializeTable(model);
      // A refresh never makes the table again once removed (or before the first apply made it).
      if (!force && (this.#applied === undefined || ruleset === this.#applied)) return;
      const applied = this.#table;
      // Until this write is done the table is not known to be as applied: a failure makes the next one replace it.
      this.#table = undefined;
      this.#table = await applyTable(model, applied);
      this.#applied = ruleset;
    });
    this.#queued.set(force, write);
    return write;
  }

  /** The addresses an egress entry stands for: itself (an address or range), a host name's last answer, else none. */
  #addresses(entry: string): string[] {
    if (isAddressEntry(entry.trim())) return [entry.trim()];
    const name = hostnameOf(entry);
    return name ? (this.#answers.get(name) ?? []) : [];
  }

  /** Removes the table (and only it). */
  remove(): Promise<void> {
    return this.#deps.global.run('firewall', async () => {
      this.#applied = undefined;
      this.#table = undefined;
      await removeTable(this.table);
    });
  }
}
