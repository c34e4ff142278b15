import { isIPv4 } from 'node:net';
import { AppError } from '@cove/protocol';

/** Where a proxied request goes: always a loopback address inside the workspace. */
export interface ProxyTarget {
  /** The address connected to (`127.x.x.x` or `::1`); `localhost` becomes 127.0.0.1, no DNS. */
  host: string;
  port: number;
  /** As the caller wrote it, for messages. */
  label: string;
}

/** Ports the proxy never reaches: the Internal API's documented port and the agent's own. */
export interface ForbiddenPorts {
  has(port: number): boolean;
}

const PORT = /^[0-9]{1,5}$/;

/**
 * Parses `<port>`, `<host>:<port>` or `[::1]:<port>` (the `X-Oblien-Proxy-Target`
 * header, the `x_oblien_target` query parameter or the path form's first
 * segment). Malformed input is 400; a host that is not loopback, or a
 * forbidden port, is 403. Only literal loopback addresses and `localhost`
 * count: a name is never resolved, so `localhost.evil.com` is refused.
 */
export function parseProxyTarget(raw: string, forbidden: ForbiddenPorts): ProxyTarget {
  const label = raw.length > 64 ? `${raw.slice(0, 64)}…` : raw;
  let hostPart: string | undefined;
  let portPart: string;
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0 || raw[close + 1] !== ':') throw bad(label);
    hostPart = raw.slice(1, close);
    portPart = raw.slice(close + 2);
  } else {
    const colon = raw.lastIndexOf(':');
    if (colon >= 0) {
      hostPart = raw.slice(0, colon);
      portPart = raw.slice(colon + 1);
      if (hostPart.includes(':')) throw bad(label, 'an IPv6 address must be bracketed ([::1]:PORT)');
    } else portPart = raw;
  }
  if (!PORT.test(portPart)) throw bad(label);
  const port = Number(portPart);
  if (port < 1 || port > 65535) throw bad(label, 'the port must be 1-65535');
  const host = loopbackHost(hostPart, label);
  if (forbidden.has(port)) {
    throw new AppError('forbidden', `proxy target ${label} is the Internal API itself; use another port`);
  }
  return { host, port, label };
}

function loopbackHost(host: string | undefined, label: string): string {
  if (host === undefined) return '127.0.0.1';
  if (host.length === 0) throw bad(label);
  const lower = host.toLowerCase();
  if (lower === 'localhost') return '127.0.0.1';
  if (lower === '::1') return '::1';
  if (isIPv4(host) && host.startsWith('127.')) return host;
  throw new AppError('forbidden', `proxy target ${label} is not a loopback address: only 127.0.0.0/8, [::1] and localhost are reachable`);
}

function bad(label: string, why = 'expected PORT, HOST:PORT or [::1]:PORT'): AppError {
  return new AppError('bad_request', `invalid proxy target '${label}': ${why}`);
}
