// Keeps the driver's nftables table in step with its workspaces' network settings: the whole table is
// re-rendered from every workspace's state and replaced at once. Pool slots have no rules (they are dark).
import type { AddressPlan } from './addresses.js';
import { applyRuleset, type FirewallEntry, removeTable, renderRuleset } from './firewall.js';
import type { KeyedSerial } from './serial.js';
import type { Slots } from './slots.js';

export interface WorkspaceFirewallDeps {
  /** The nftables table (family inet) this driver owns. */
  table: string;
  plan: AddressPlan;
  agentPort: number;
  slots: Slots;
  /** Firewall changes are global (one serial for the driver's global changes). */
  global: KeyedSerial;
}

export class WorkspaceFirewall {
  readonly #deps: WorkspaceFirewallDeps;

  constructor(deps: WorkspaceFirewallDeps) {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(deps.table)) throw new Error(`invalid nftables table name '${deps.table}'`);
    this.#deps = deps;
  }

  get table(): string {
    return this.#deps.table;
  }

  /** Re-renders and replaces the whole table (atomic; live when nft returns). */
  apply(): Promise<void> {
    return this.#deps.global.run('firewall', async () => {
      const states = this.#deps.slots.states;
      const entries: FirewallEntry[] = [...states.values()].map((s) => ({
        id: s.slot,
        ip: s.ip,
        publicAccess: s.network.publicAccess,
        allowInternet: s.network.allowInternet,
        // Links resolve by id to this driver's own addresses: a deleted peer's address, reused later, gains nothing.
        linkedIps: s.network.privateLinkIds.flatMap((peer) => {
          const ip = states.get(peer)?.ip;
          return ip ? [ip] : [];
        }),
        ingressPorts: s.network.ingressPorts,
      }));
      await applyRuleset(
        renderRuleset(
          { table: this.table, subnet: this.#deps.plan.cidr, hostAddress: this.#deps.plan.hostAddress, agentPort: this.#deps.agentPort },
          entries,
        ),
      );
    });
  }

  /** Removes the table (and only it). */
  remove(): Promise<void> {
    return this.#deps.global.run('firewall', () => removeTable(this.table));
  }
}
