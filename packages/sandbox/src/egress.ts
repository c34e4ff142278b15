// Egress allow-list entries as the firewall reads them: IPv4 addresses and CIDR ranges taken as they are, host
// names resolved to IPv4 addresses, anything else ignored (the control plane refuses it before it gets here).
import { lookup } from 'node:dns/promises';
import { canonicalEgressEntry, egressEntryKind } from '@cove/protocol';

/** Resolves a host name to its IPv4 addresses (rejects, or resolves to none, when it does not resolve). */
export type EgressLookup = (hostname: string) => Promise<string[]>;

/** node:dns `lookup` (the host's resolver configuration, /etc/hosts included), IPv4 only. */
export const defaultEgressLookup: EgressLookup = async (hostname) =>
  (await lookup(hostname, { all: true, family: 4 })).map((a) => a.address);

/** An inclusive range of IPv4 addresses as unsigned 32-bit numbers. */
type Span = [first: number, last: number];

/** The address as a number, or undefined when it is not a dotted-quad IPv4 address. */
function ipv4Number(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function ipv4Text(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** The addresses an IPv4 address or CIDR range (`a.b.c.d/n`, host bits ignored) covers; undefined for anything else. */
function spanOf(entry: string): Span | undefined {
  const [addr = '', prefix, ...rest] = entry.split('/');
  const n = ipv4Number(addr);
  if (n === undefined || rest.length > 0) return undefined;
  if (prefix === undefined) return [n, n];
  if (!/^\d{1,2}$/.test(prefix) || Number(prefix) > 32) return undefined;
  const size = 2 ** (32 - Number(prefix));
  const first = n - (n % size);
  return [first, first + size - 1];
}

/** Whether the entry is an IPv4 address or CIDR range. */
export function isAddressEntry(entry: string): boolean {
  const kind = egressEntryKind(entry);
  return kind === 'address' || kind === 'range';
}

/** The entry's host name in its canonical spelling, or undefined when it is no host name. */
export function hostnameOf(entry: string): string | undefined {
  const name = canonicalEgressEntry(entry);
  return egressEntryKind(name) === 'host' ? name : undefined;
}

/**
 * The set's elements for these addresses and CIDR ranges: overlaps and neighbours merged (an interval set
 * refuses overlapping elements), sorted, each a single address or an `a-b` range; invalid entries dropped.
 */
export function egressElements(entries: readonly string[]): string[] {
  const spans = entries
    .map((e) => spanOf(e.trim()))
    .filter((s): s is Span => s !== undefined)
    .sort((a, b) => a[0] - b[0]);
  const merged: Span[] = [];
  for (const [first, last] of spans) {
    const previous = merged.at(-1);
    if (previous && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last);
    else merged.push([first, last]);
  }
  return merged.map(([first, last]) => (first === last ? ipv4Text(first) : `${ipv4Text(first)}-${ipv4Text(last)}`));
}
