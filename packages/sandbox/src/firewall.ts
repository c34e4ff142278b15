import { vethName } from './addresses.js';
import { egressElements } from './egress.js';
import { run } from './run-command.js';

/** What the firewall needs to know about one workspace. */
export interface FirewallEntry {
  id: string;
  ip: string;
  /** The gateway (the host side) may open connections to the agent's port. */
  publicAccess: boolean;
  /**
   * Some port is exposed at a public URL: the gateway reaches it through the agent's `/proxy`, so the host
   * reaches the agent's port as with public access (the exposed ports themselves stay closed).
   */
  exposesPorts: boolean;
  allowInternet: boolean;
  /** Addresses of the workspaces allowed to reach the agent's port directly. */
  linkedIps: string[];
  /** Other ports open to inbound connections (from the host side and linked workspaces). */
  ingressPorts: number[];
  /**
   * With internet access, the only destinations outside the subnet it may open connections to: IPv4
   * addresses and CIDR ranges (host names already resolved; anything else ignored). Null: no restriction.
   */
  egress: string[] | null;
  /** Its DNS resolvers (its resolv.conf's nameservers): reachable on port 53 whenever it has internet access. */
  resolvers: string[];
}

export interface FirewallOptions {
  /** The nftables table (family inet); Cove never touches any other. */
  table: string;
  subnet: string;
  hostAddress: string;
  agentPort: number;
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Renders Cove's whole nftables table. Every rule matches this driver's
 * interfaces or subnet, so traffic of the rest of the host is never
 * affected; the table is replaced atomically (one `nft -f` transaction), so
 * a change is live as soon as the command returns.
 *
 * - forward: packets to a workspace are dropped unless they answer one of
 *   its connections or come from a linked workspace to the agent's port
 *   (network-dark inbound); packets from a workspace leave only when it has
 *   internet access and, when it has an egress allow-list, only for its
 *   resolvers' port 53 and the addresses of its set `egress_<veth>`.
 * - output: the host itself (the gateway) reaches a workspace's agent only
 *   when it has public access or exposes ports at public URLs.
 * - input: workspaces cannot open connections to the host's services, but
 *   for DNS to their resolvers when one is an address of the host.
 * - prerouting: a workspace's link carries only IPv4 from its own address (no forged sources, no IPv6).
 * - postrouting: outbound traffic is masqueraded behind the host's address.
 */
export function renderRuleset(options: FirewallOptions, entries: readonly FirewallEntry[]): string {
  return serializeTable(renderTable(options, entries));
}

/** A rendered table: its sets (name and declaration) and its chains (name, declaration line, rules in order). */
export interface TableModel {
  table: string;
  sets: Array<{ name: string; text: string }>;
  chains: Array<{ name: string; head: string; rules: string[] }>;
}

/** The whole table as one transaction replacing it (whether or not it exists). */
export function serializeTable(model: TableModel): string {
  const { table } = model;
  return [
    // Declaring then deleting makes the replacement work whether or not the table exists, in one transaction.
    `table inet ${table}\n`,
    `delete table inet ${table}\n`,
    `table inet ${table} {\n`,
    ...model.sets.map((s) => s.text),
    ...model.chains.map((c) => `  chain ${c.name} {\n    ${c.head}\n${c.rules.map((r) => `    ${r}\n`).join('')}  }\n`),
    '}\n',
  ].join('');
}

/** The table's model (see `renderRuleset`). */
export function renderTable(options: FirewallOptions, entries: readonly FirewallEntry[]): TableModel {
  const { table } = options;
  const port = options.agentPort;
  // Every drop names this driver's subnet: tables of other Cove instances (other subnets) are unaffected.
  const net = options.subnet;
  const forward: string[] = ['ct state established,related accept', `ip daddr ${net} ct state invalid drop`];
  const output: string[] = [`ip daddr ${net} ct state established,related accept`];
  const input: string[] = [`ip saddr ${net} ct state established,related accept`];
  const outbound: string[] = [];
  // Before routing (so for the host's services and for forwarding alike), a workspace's link carries only
  // IPv4 from its own address: a forged source or any IPv6 is dropped (see also netns.ts' guardHostSide).
  const prerouting: string[] = [];
  const sets: TableModel['sets'] = [];
  for (const e of [...entries].sort((a, b) => a.id.localeCompare(b.id))) {
    if (!IPV4.test(e.ip)) continue;
    const dev = vethName(e.id);
    prerouting.push(`iifname "${dev}" meta nfproto ipv6 drop`, `iifname "${dev}" ip saddr != ${e.ip} drop`);
    const linked = e.linkedIps.filter((ip) => IPV4.test(ip) && ip !== e.ip);
    const ports = e.ingressPorts.filter((p) => Number.isInteger(p) && p > 0 && p < 65536 && p !== port);
    if (linked.length > 0) forward.push(`oifname "${dev}" ip saddr { ${linked.join(', ')} } tcp dport ${port} accept`);
    if (ports.length > 0) {
      forward.push(`oifname "${dev}" tcp dport { ${ports.join(', ')} } accept`);
      output.push(`oifname "${dev}" tcp dport { ${ports.join(', ')} } accept`);
    }
    if (e.publicAccess || e.exposesPorts) output.push(`oifname "${dev}" tcp dport ${port} accept`);
    if (!e.allowInternet) {
      outbound.push(`iifname "${dev}" drop`);
      continue;
    }
    const resolvers = e.resolvers.filter((ip) => IPV4.test(ip));
    const dns = resolvers.length > 0 ? `ip daddr { ${resolvers.join(', ')} } meta l4proto { tcp, udp } th dport 53 accept` : '';
    // A resolver that is an address of the host is reached through the input hook, not forward.
    if (dns) input.push(`iifname "${dev}" ${dns}`);
    if (e.egress === null) continue;
    const elements = egressElements(e.egress);
    sets.push({
      name: `egress_${dev}`,
      text: `  set egress_${dev} {\n    type ipv4_addr; flags interval;\n${elements.length > 0 ? `    elements = { ${elements.join(', ')} }\n` : ''}  }\n`,
    });
    // Only destinations outside the subnet get here (those inside met the drop above): the resolvers, the set, nothing else.
    if (dns) outbound.push(`iifname "${dev}" ${dns}`);
    outbound.push(`iifname "${dev}" ip daddr @egress_${dev} accept`, `iifname "${dev}" drop`);
  }
  input.push(`ip saddr ${net} drop`);
  forward.push(`ip daddr ${net} drop`, ...outbound);
  output.push(`ip daddr ${net} drop`);
  const filter = (hook: string) => `type filter hook ${hook} priority filter - 10; policy accept;`;
  return {
    table,
    sets,
    chains: [
      { name: 'prerouting', head: filter('prerouting'), rules: prerouting },
      { name: 'forward', head: filter('forward'), rules: forward },
      { name: 'output', head: filter('output'), rules: output },
      { name: 'input', head: filter('input'), rules: input },
      {
        name: 'postrouting',
        head: 'type nat hook postrouting priority srcnat; policy accept;',
        rules: [`ip saddr ${options.subnet} oifname != "cv*" masquerade`],
      },
    ],
  };
}

/** Removes Cove's table (and only it). */
export async function removeTable(table: string): Promise<void> {
  await run(['nft', 'delete', 'table', 'inet', table], { allowFailure: true });
}
