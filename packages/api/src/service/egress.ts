import { badParam, canonicalEgressEntry, egressEntryKind } from '@cove/protocol';

/**
 * A workspace's egress allow-list as the driver enforces it: each entry an
 * IPv4 address, an IPv4 CIDR range or a host name (resolved by the driver,
 * and again as its answers change), in its canonical spelling, each once.
 * Anything else is refused with the entry named: IPv6 (workspaces have
 * none), URLs, ports, wildcards.
 */
export function normalizeEgress(entries: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of entries) {
    const entry = canonicalEgressEntry(raw);
    if (egressEntryKind(entry) === undefined) {
      throw badParam('egress', `'${raw}' is not an IPv4 address, an IPv4 CIDR range or a host name`);
    }
    out.add(entry);
  }
  return [...out];
}
