import { AppError } from '@cove/protocol';
import { type ForbiddenPorts, type ProxyTarget, parseProxyTarget } from './proxy-target.js';

/** The header the official SDK names the app port with. */
export const TARGET_HEADER = 'x-oblien-proxy-target';

/** Query parameters the proxy consumes; they never reach the app. */
const RESERVED_QUERY = new Set(['token', 'x_oblien_target']);

/** `/proxy` and the official SDK's `forTarget('default')` spelling of it. */
const PREFIXES = ['/proxy', '/runtimes/default/proxy'];

/**
 * The part of a request target after the `/proxy` prefix, or undefined when
 * the request is not for the proxy. `/proxy`, `/proxy/…` and `/proxy?…` are;
 * `/proxyfoo` is not. An absolute-form target (`GET http://host/proxy/x`) is
 * read by its path, as HTTP/1.1 servers must accept it.
 */
export function proxyRemainder(url: string | undefined): string | undefined {
  if (!url) return undefined;
  let path = url;
  if (path.charCodeAt(0) !== 47 /* / */) {
    const scheme = /^https?:\/\/[^/?#]*/i.exec(path);
    if (!scheme) return undefined;
    path = path.slice(scheme[0].length) || '/';
  }
  for (const prefix of PREFIXES) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    if (rest === '' || rest[0] === '/' || rest[0] === '?') return rest;
  }
  return undefined;
}

/** Where a proxied request goes and the request target the app sees. */
export interface ProxyRoute {
  target: ProxyTarget;
  /** Path and query for the app: never empty, starts with `/`, reserved query parameters removed. */
  path: string;
}

/**
 * Resolves the target and the app's path. The target comes from the
 * `X-Oblien-Proxy-Target` header, else the `x_oblien_target` query
 * parameter, else the path form `/proxy/<target>/<path>`; with the header or
 * the parameter the path after `/proxy` goes to the app as it is. `parse`
 * reads the target (a caller may remember what it parsed).
 */
export function resolveProxyRoute(
  remainder: string,
  header: string | string[] | undefined,
  forbidden: ForbiddenPorts,
  parse: (raw: string, forbidden: ForbiddenPorts) => ProxyTarget = parseProxyTarget,
): ProxyRoute {
  const q = remainder.indexOf('?');
  let path = q < 0 ? remainder : remainder.slice(0, q);
  const { query, target: queryTarget } = stripReserved(q < 0 ? '' : remainder.slice(q + 1));
  let raw: string | undefined;
  if (Array.isArray(header)) throw new AppError('bad_request', `${TARGET_HEADER} must be sent once`);
  if (header !== undefined) raw = header.trim();
  else if (queryTarget !== undefined) raw = queryTarget;
  else {
    // Path form: the first segment is the target, taken literally (no decoding, no dot segments).
    const segment = /^\/([^/]*)/.exec(path)?.[1];
    if (!segment) {
      throw new AppError('bad_request', `no proxy target: send ${TARGET_HEADER}: <port>, ?x_oblien_target=<port> or /proxy/<port>/<path>`);
    }
    raw = segment;
    path = path.slice(segment.length + 1);
  }
  if (raw.length === 0) throw new AppError('bad_request', 'empty proxy target');
  const target = parse(raw, forbidden);
  if (path === '') path = '/';
  else if (path[0] !== '/') path = `/${path}`;
  return { target, path: query === '' ? path : `${path}?${query}` };
}

/**
 * Removes `token` and `x_oblien_target` from a query string, leaving every
 * other parameter byte for byte as the caller wrote it (order, encoding,
 * repeated and empty ones).
 */
function stripReserved(query: string): { query: string; target: string | undefined } {
  // Neither name can be spelled without these letters (`+` decodes to a space, so only `%` escapes could hide them).
  if (query === '' || (!query.includes('token') && !query.includes('x_oblien_target') && !query.includes('%'))) {
    return { query, target: undefined };
  }
  let target: string | undefined;
  const kept: string[] = [];
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const name = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (name !== undefined && RESERVED_QUERY.has(name)) {
      if (name === 'x_oblien_target') {
        if (target !== undefined) throw new AppError('bad_request', 'x_oblien_target must be sent once');
        target = safeDecode(eq < 0 ? '' : pair.slice(eq + 1)) ?? '';
      }
      continue;
    }
    kept.push(pair);
  }
  return { query: kept.join('&'), target };
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}
