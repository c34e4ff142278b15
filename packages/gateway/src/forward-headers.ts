import { headerLines, isName, type RequestHead } from '@cove/wire';

/**
 * Header hygiene between the caller and an agent.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and never
 * cross a proxy: Connection, Keep-Alive, Proxy-*, TE, Trailer,
 * Transfer-Encoding, Upgrade, and any header the Connection header names.
 * The caller's credentials and forwarding claims are not passed on either:
 * the agent gets its own raw token and X-Forwarded-* set by the gateway.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Request headers the gateway replaces or refuses to relay. */
const REQUEST_DROPPED = new Set([
  ...HOP_BY_HOP,
  'host',
  'authorization',
  'forwarded',
  'x-real-ip',
  // The gateway answers `100-continue` to the caller itself when it starts relaying the body.
  'expect',
  // Framing is the gateway's own on each side (re-framed, never copied: no smuggling through it).
  'content-length',
  // Replaced by the request's id as the gateway accepted or made it (see RequestHead.requestId).
  'x-request-id',
]);

/**
 * Response headers are dropped by `filterResponseHeaders`: hop-by-hop ones, `proxy-*`, `x-request-id` (the
 * exchange's own, written once by the gateway) and, from a workspace's agent, cookies (they would land on the
 * gateway's domain).
 */

/** Names listed in a Connection header, other than the usual tokens that name no header. */
export function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  let listed: Set<string> | undefined;
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '' || name === 'keep-alive' || name === 'close' || name === 'upgrade') continue;
    listed ??= new Set();
    listed.add(name);
  }
  return listed;
}

export function dropRequestHeader(name: string, listed: Set<string> | undefined): boolean {
  return REQUEST_DROPPED.has(name) || name.startsWith('proxy-') || name.startsWith('x-forwarded-') || listed?.has(name) === true;
}

/** Whether `name` begins with `lower` (a lower-case prefix) in any case (see `isName`). */
function hasPrefix(name: string, lower: string): boolean {
  if (name.length < lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** A hop-by-hop name (`HOP_BY_HOP`) in any case, Connection aside (its callers read it). */
function hopByHop(name: string): boolean {
  switch (name.length) {
    case 2:
      return isName(name, 'te');
    case 7:
      return isName(name, 'trailer') || isName(name, 'upgrade');
    case 10:
      return isName(name, 'keep-alive');
    case 17:
      return isName(name, 'transfer-encoding');
    default:
      return false;
  }
}

/**
 * `dropRequestHeader(name.toLowerCase(), undefined)` without lower-casing
 * (or hashing) a copy of every name: names are told apart by their length
 * first. Host, Authorization and Connection are the scan's own (dropped too).
 */
function droppedOnRequest(name: string): boolean {
  switch (name.length) {
    case 6:
      if (isName(name, 'expect')) return true;
      break;
    case 9:
      if (isName(name, 'forwarded') || isName(name, 'x-real-ip')) return true;
      break;
    case 12:
      if (isName(name, 'x-request-id')) return true;
      break;
    case 14:
      if (isName(name, 'content-length')) return true;
      break;
    default:
      if (hopByHop(name)) return true;
  }
  return hasPrefix(name, 'proxy-') || hasPrefix(name, 'x-forwarded-');
}

/** The forwarding headers the gateway itself vouches for, and the request's id, as header lines. */
export function forwardedHeaderLines(req: RequestHead, host: string | undefined): string {
  return `x-forwarded-for: ${req.remoteAddress}\r\nx-forwarded-proto: http\r\nx-forwarded-host: ${host ?? ''}\r\nx-request-id: ${req.requestId}\r\n`;
}

/** What the gateway reads of a request's headers, gathered in one pass over the raw list. */
export interface ScannedRequest {
  authorization: string | undefined;
  host: string | undefined;
  /** The caller's end-to-end headers as `name: value\r\n` lines, ready for the upstream request head. */
  forward: string;
}

/**
 * Reads the caller's raw headers once: the Authorization, the Host, and the
 * headers to relay upstream — without building a lower-cased header object
 * on the hot path.
 */
export function scanRequestHeaders(raw: readonly string[]): ScannedRequest {
  let forward = '';
  let authorization: string | undefined;
  let host: string | undefined;
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const length = name.length;
    if (length === 13 && isName(name, 'authorization')) authorization = value;
    else if (length === 4 && isName(name, 'host')) host = value;
    else if (length === 10 && isName(name, 'connection')) connection = connection === undefined ? value : `${connection},${value}`;
    else if (!droppedOnRequest(name)) forward += `${name}: ${value}\r\n`;
  }
  const listed = connectionListed(connection);
  if (listed === undefined) return { authorization, host, forward };
  // Rare: the Connection header names more headers to drop; a second pass over the raw list.
  let kept = '';
  for (let i = 0; i < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (dropRequestHeader(lower, listed)) continue;
    kept += `${raw[i] as string}: ${raw[i + 1] as string}\r\n`;
  }
  return { authorization, host, forward: kept };
}

/**
 * Headers for a WebSocket upgrade sent upstream: like a plain request, plus
 * the upgrade itself; the `Origin` (already checked by the gateway, and
 * foreign to the agent's own host) and any subprotocol carrying the caller's
 * token are not passed on.
 */
export function upstreamUpgradeHeaders(req: RequestHead, authorization: string, protocols: readonly string[]): Record<string, string> {
  const raw = req.rawHeaders;
  const listed = connectionListed(req.headers.connection);
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (dropRequestHeader(name, listed) || name === 'origin' || name === 'sec-websocket-protocol') continue;
    const value = raw[i + 1] as string;
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  out['x-forwarded-for'] = req.remoteAddress;
  out['x-forwarded-proto'] = 'http';
  out['x-forwarded-host'] = req.headers.host ?? '';
  out['x-request-id'] = req.requestId;
  out.connection = 'Upgrade';
  out.upgrade = 'websocket';
  out.authorization = authorization;
  if (protocols.length > 0) out['sec-websocket-protocol'] = protocols.join(', ');
  return out;
}

/**
 * Response headers (flat, as received) minus hop-by-hop ones, those the Connection headers list, `proxy-*`,
 * `x-request-id`, and cookies unless `cookies`; `rewrite` may change a kept value.
 */
function filterResponseHeaders(raw: readonly string[], cookies: boolean, rewrite?: (name: string, value: string) => string): string[] {
  let connection: string | undefined;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const length = name.length;
    // Names told apart by length first, without lower-casing a copy (this runs for every relayed answer).
    if (length === 10 && isName(name, 'connection')) {
      connection = connection === undefined ? (raw[i + 1] as string) : `${connection},${raw[i + 1] as string}`;
      continue;
    }
    if (hopByHop(name) || hasPrefix(name, 'proxy-') || (length === 12 && isName(name, 'x-request-id'))) continue;
    if (!cookies && ((length === 10 && isName(name, 'set-cookie')) || (length === 11 && isName(name, 'set-cookie2')))) continue;
    const value = raw[i + 1] as string;
    out.push(name, rewrite ? rewrite(name, value) : value);
  }
  const listed = connectionListed(connection);
  if (listed === undefined) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) {
    if (!listed.has((out[i] as string).toLowerCase())) kept.push(out[i] as string, out[i + 1] as string);
  }
  return kept;
}

/**
 * The agent's response headers minus hop-by-hop ones and cookies, as `name: value\r\n` lines: one pass over
 * the raw list, no list built (this runs for every relayed answer); a Connection header naming more headers
 * to drop (rare) takes the long way.
 */
export function downstreamResponseHeaders(raw: readonly string[]): string {
  let lines = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const length = name.length;
    if (length === 10 && (isName(name, 'connection') || isName(name, 'set-cookie'))) {
      if (isName(name, 'set-cookie') || connectionListed(raw[i + 1] as string) === undefined) continue;
      return headerLines(filterResponseHeaders(raw, false));
    }
    if (hopByHop(name) || hasPrefix(name, 'proxy-') || (length === 12 && isName(name, 'x-request-id'))) continue;
    if (length === 11 && isName(name, 'set-cookie2')) continue;
    lines += `${name}: ${raw[i + 1] as string}\r\n`;
  }
  return lines;
}

/**
 * An exposed port's response headers: like the data plane's, but the app's
 * cookies pass — a public URL is the app's own host name — with any `Domain`
 * attribute removed, so that a cookie stays on that host and one app cannot
 * set cookies for the other slugs under the preview domain.
 */
export function publicResponseHeaders(raw: readonly string[]): string[] {
  return filterResponseHeaders(raw, true, (name, value) =>
    isName(name, 'set-cookie') || isName(name, 'set-cookie2') ? hostOnlyCookie(value) : value,
  );
}

/** A Set-Cookie value without its `Domain` attributes. */
function hostOnlyCookie(value: string): string {
  if (!/;\s*domain\s*=/i.test(value)) return value;
  return value
    .split(';')
    .filter((part, i) => i === 0 || !/^\s*domain\s*=/i.test(part))
    .join(';');
}
