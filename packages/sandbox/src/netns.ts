import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { netnsName, vethName } from './addresses.js';
import { run } from './run-command.js';
import { settled } from './settled.js';
import { makeNetns } from './userns.js';

export function netnsPath(id: string): string {
  return `/run/netns/${netnsName(id)}`;
}

/**
 * The workspace's network namespace and its point-to-point veth link. The
 * host side carries the host address (/32, the same on every link) and a
 * /32 route to the workspace; inside, `eth0` has the workspace's address and
 * a default route through the host. Routing (not a bridge) means every packet
 * between workspaces crosses the host's forward hook, where the firewall sees
 * it. Created once and kept while the workspace exists, so that a start does
 * not pay for it.
 *
 * The namespace is owned by the workspace's user namespace (`usernsFile`), not the host's: so runc can
 * join both (`runc exec` joins the user namespace first), root inside has its network capabilities there
 * (ports below 1024, raw sockets; not CAP_NET_ADMIN, which is not in its set) and can mount its sysfs.
 * The host's root still configures it (it is capable in every user namespace).
 */
export async function ensureNetwork(id: string, ip: string, hostIp: string, usernsFile: string): Promise<void> {
  const ns = netnsName(id);
  const veth = vethName(id);
  if (!existsSync(netnsPath(id))) {
    await mkdir('/run/netns', { recursive: true, mode: 0o755 });
    await makeNetns(usernsFile, netnsPath(id));
  }
  if (existsSync(`/sys/class/net/${veth}`)) {
    // A link of an earlier version (recovery) gets the same guards.
    await guardHostSide(veth);
    return;
  }
  const peer = `cp${veth.slice(2)}`;
  await run(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', peer, 'netns', ns]);
  await guardHostSide(veth);
  // Batches: one process per side instead of one per command, both sides at once.
  const inside = run(['ip', '-n', ns, '-batch', '-'], {
    input: [
      `link set ${peer} name eth0`,
      `addr add ${ip}/32 dev eth0`,
      'link set lo up',
      'link set eth0 up',
      `route add ${hostIp} dev eth0 scope link`,
      `route add default via ${hostIp} dev eth0`,
      '',
    ].join('\n'),
  });
  const host = run(['ip', '-batch', '-'], {
    input: [`addr add ${hostIp}/32 dev ${veth}`, `link set ${veth} up`, `route replace ${ip}/32 dev ${veth} scope link`, ''].join('\n'),
  });
  await settled([inside, host]);
}

/**
 * The host side of a workspace's link answers only what the firewall lets through, and only over IPv4:
 * - strict reverse-path filtering drops a packet whose source address would not be routed back through
 *   this link (root inside has raw sockets and can forge any source; the firewall's drops name the
 *   subnet, so a forged outside address would otherwise reach the host's services);
 * - no IPv6 on it, so no link-local address through which the host's services listening on `::` could
 *   be reached (the firewall is written for IPv4; the workspace has no IPv6 route anyway).
 * Set before the link comes up, so no IPv6 address is ever assigned.
 */
async function guardHostSide(veth: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv4/conf/${veth}/rp_filter`, '1\n');
  const ipv6 = `/proc/sys/net/ipv6/conf/${veth}/disable_ipv6`;
  if (existsSync(ipv6)) await writeFile(ipv6, '1\n');
}

/** Removes the link (its peer goes with it) and the namespace. Idempotent. */
export async function removeNetwork(id: string): Promise<void> {
  const veth = vethName(id);
  if (existsSync(`/sys/class/net/${veth}`)) await run(['ip', 'link', 'del', veth], { allowFailure: true });
  if (existsSync(netnsPath(id))) await run(['ip', 'netns', 'del', netnsName(id)], { allowFailure: true });
}

/**
 * Routing between workspaces and out to the internet needs IPv4 forwarding;
 * it is switched on once (as every container runtime does) and never off.
 */
export async function enableForwarding(): Promise<void> {
  const file = '/proc/sys/net/ipv4/ip_forward';
  if ((await readFile(file, 'utf8')).trim() !== '1') await writeFile(file, '1\n');
}
