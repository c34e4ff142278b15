import { createHash } from 'node:crypto';
import { AppError } from '@cove/protocol';

/**
 * Private addresses in an IPv4 subnet (the instance's: see instance-network.ts). The first host
 * address is the host side of every workspace's veth (the workspaces' default
 * route, and the source address of the gateway's connections); workspaces get
 * the following ones, each kept for the workspace's whole life so that
 * private links and gateway routes stay valid across restarts.
 */
export class AddressPlan {
  readonly network: number;
  readonly prefix: number;
  readonly hostAddress: string;

  constructor(readonly cidr: string) {
    const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!match) throw new Error(`invalid subnet '${cidr}': expected a.b.c.d/prefix`);
    const octets = match.slice(1, 5).map(Number);
    const prefix = Number(match[5]);
    if (octets.some((o) => o > 255) || prefix < 8 || prefix > 28) throw new Error(`invalid subnet '${cidr}': prefix must be 8…28`);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    this.network = (((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) & mask;
    this.network >>>= 0;
    this.prefix = prefix;
    this.hostAddress = this.at(1);
  }

  /** Workspace addresses available: all but the network, host and broadcast addresses. */
  get capacity(): number {
    return 2 ** (32 - this.prefix) - 3;
  }

  /** The address at `offset` from the network address. */
  at(offset: number): string {
    const n = (this.network + offset) >>> 0;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }

  /** The lowest free workspace address; 503 `no_free_address` when the subnet is full (a capacity limit, not a fault). */
  allocate(used: ReadonlySet<string>): string {
    for (let offset = 2; offset < this.capacity + 2; offset++) {
      const ip = this.at(offset);
      if (!used.has(ip)) return ip;
    }
    throw new AppError(
      'no_free_address',
      `no free address left in the workspace subnet ${this.cidr} (${this.capacity} workspaces); delete a workspace or choose a larger subnet`,
    );
  }
}

/** Host-side interface names: `cv` + 10 hex digits of the id's hash (≤ 15 characters, stable). */
export function vethName(id: string): string {
  return `cv${createHash('sha256').update(id).digest('hex').slice(0, 10)}`;
}

/** The network namespace's name under /run/netns. */
export function netnsName(id: string): string {
  return `cove-${id}`;
}
