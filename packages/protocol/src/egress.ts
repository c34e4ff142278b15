/**
 * The grammar of a workspace's egress allow-list entry, shared by the
 * control plane (which refuses anything else) and the sandbox driver (which
 * enforces the list): an IPv4 address, an IPv4 CIDR range, or a host name
 * (RFC 1123 labels, at most 253 characters, a last label not all digits so
 * that a malformed address is not taken for a name).
 */
export type EgressEntryKind = 'address' | 'range' | 'host';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The canonical spelling of an entry: trimmed, lower-cased, without a trailing dot. */
export function canonicalEgressEntry(raw: string): string {
  return raw.trim().toLowerCase().replace(/\.$/, '');
}

/** What a canonical entry is, or undefined when it is none of the three. */
export function egressEntryKind(entry: string): EgressEntryKind | undefined {
  const ip = IPV4.exec(entry);
  if (ip !== null) {
    if (ip.slice(1, 5).some((octet) => Number(octet) > 255)) return undefined;
    if (ip[5] === undefined) return 'address';
    return Number(ip[5]) <= 32 ? 'range' : undefined;
  }
  if (entry.length === 0 || entry.length > 253) return undefined;
  const labels = entry.split('.');
  if (/^\d+$/.test(labels.at(-1) ?? '')) return undefined;
  return labels.every((label) => LABEL.test(label)) ? 'host' : undefined;
}
