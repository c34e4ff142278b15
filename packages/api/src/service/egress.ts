import { badParam } from '@cove/protocol';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A workspace's egress allow-list as the driver enforces it: each entry an
 * IPv4 address, an IPv4 CIDR range or a host name (resolved by the driver,
 * and again as its answers change), lower-cased, without a trailing dot, each
 * once. Anything else is refused with the entry named: IPv6 (workspaces have
 * none), URLs, ports, wildcards.
 */
export function normalizeEgress(entries: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase().replace(/\.$/, '');
    if (!isIpv4OrCidr(entry) && !isHostName(entry)) {
      throw badParam('egress', `'${raw}' is not an IPv4 address, an IPv4 CIDR range or a host name`);
    }
    out.add(entry);
  }
  return [...out];
}

function isIpv4OrCidr(entry: string): boolean {
  const m = IPV4.exec(entry);
  if (m === null) return false;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return false;
  return m[5] === undefined || Number(m[5]) <= 32;
}

function isHostName(entry: string): boolean {
  if (entry.length === 0 || entry.length > 253) return false;
  const labels = entry.split('.');
  // A name whose last label is all digits would be a malformed address, not a host.
  if (/^\d+$/.test(labels[labels.length - 1] as string)) return false;
  return labels.every((label) => LABEL.test(label));
}
