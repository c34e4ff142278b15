import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

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
  // undici refuses `Expect`; Node's server has already answered `100-continue` to the caller.
  'expect',
]);

/** Response headers a workspace may not send through the gateway (cookies would land on the gateway's domain). */
const RESPONSE_DROPPED = new Set([...HOP_BY_HOP, 'set-cookie', 'set-cookie2']);

/** Names listed in a Connection header, other than the usual tokens that name no header. */
function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
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

function dropRequestHeader(name: string, listed: Set<string> | undefined): boolean {
  return REQUEST_DROPPED.has(name) || name.startsWith('proxy-') || name.startsWith('x-forwarded-') || listed?.has(name) === true;
}

/** Appends the forwarding headers the gateway itself vouches for to a flat `[name, value, …]` list. */
export function pushForwardedHeaders(out: string[], req: IncomingMessage, host: string | undefined): string[] {
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  out.push(
    'x-forwarded-for',
    req.socket.remoteAddress ?? '',
    'x-forwarded-proto',
    encrypted ? 'https' : 'http',
    'x-forwarded-host',
    host ?? '',
  );
  return out;
}

/** What the gateway reads of a request's headers, gathered in one pass over the raw list. */
export interface ScannedRequest {
  authorization: string | undefined;
  host: string | undefined;
  /** A request body follows (Content-Length above 0, or chunked). */
  hasBody: boolean;
  /** The caller's end-to-end headers, flat `[name, value, …]` (what undici takes without copying). */
  forward: string[];
}

/**
 * Reads the caller's raw headers once: the Authorization, whether a body
 * follows, and the headers to relay upstream — without building Node's
 * lower-cased header object on the hot path.
 */
export function scanRequestHeaders(raw: readonly string[]): ScannedRequest {
  const forward: string[] = [];
  let authorization: string | undefined;
  let host: string | undefined;
  let hasBody = false;
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'authorization') authorization = value;
    else if (lower === 'host') host = value;
    else if (lower === 'content-length') hasBody ||= value !== '0';
    else if (lower === 'transfer-encoding') hasBody = true;
    else if (lower === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
    if (dropRequestHeader(lower, undefined)) continue;
    forward.push(name, value);
  }
  const listed = connectionListed(connection);
  if (listed === undefined) return { authorization, host, hasBody, forward };
  const kept: string[] = [];
  for (let i = 0; i < forward.length; i += 2) {
    if (!listed.has((forward[i] as string).toLowerCase())) kept.push(forward[i] as string, forward[i + 1] as string);
  }
  return { authorization, host, hasBody, forward: kept };
}

/**
 * Headers for a WebSocket upgrade sent upstream: like a plain request, plus
 * the upgrade itself; the `Origin` (already checked by the gateway, and
 * foreign to the agent's own host) and any subprotocol carrying the caller's
 * token are not passed on.
 */
export function upstreamUpgradeHeaders(req: IncomingMessage, authorization: string, protocols: readonly string[]): Record<string, string> {
  const raw = req.rawHeaders;
  const listed = connectionListed(req.headers.connection);
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (dropRequestHeader(name, listed) || name === 'origin' || name === 'sec-websocket-protocol') continue;
    const value = raw[i + 1] as string;
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  const fwd = pushForwardedHeaders([], req, req.headers.host);
  for (let i = 0; i < fwd.length; i += 2) out[fwd[i] as string] = fwd[i + 1] as string;
  out.connection = 'Upgrade';
  out.upgrade = 'websocket';
  out.authorization = authorization;
  if (protocols.length > 0) out['sec-websocket-protocol'] = protocols.join(', ');
  return out;
}

/** The agent's response headers minus hop-by-hop ones and cookies. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = connectionListed(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (RESPONSE_DROPPED.has(name) || name.startsWith('proxy-') || listed?.has(name) === true) continue;
    out[name] = value;
  }
  return out;
}
