import { REQUEST_ID_HEADER } from '@cove/protocol';
import { isName } from '@cove/wire';
import { TARGET_HEADER } from './proxy-request.js';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1): each hop sets its own. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'transfer-encoding',
  'upgrade',
]);

/**
 * What the filters below make of a header name (see `kindOf`): `CONSUMED_NAME`
 * is never forwarded to the app (the caller's credentials for the agent and the
 * proxy's own instructions), nor is the caller's `X-Request-Id` (replaced).
 */
const OTHER = 0;
const HOP = 1;
const CONSUMED_NAME = 2;
const LENGTH = 3;
const WS_PROTOCOL = 4;
const REQUEST_ID = 5;

const is = isName;

/**
 * The kind of a header name, by its length first: most names are of no
 * length the filters care about and are passed on without being lower-cased
 * or hashed (this runs for every header of every relayed message).
 */
function kindOf(name: string): number {
  switch (name.length) {
    case 2:
      return is(name, 'te') ? HOP : OTHER;
    case 6:
      return is(name, 'expect') ? CONSUMED_NAME : OTHER;
    case 7:
      return is(name, 'upgrade') ? HOP : OTHER;
    case 10:
      return is(name, 'connection') || is(name, 'keep-alive') ? HOP : OTHER;
    case 12:
      return is(name, REQUEST_ID_HEADER) ? REQUEST_ID : OTHER;
    case 13:
      return is(name, 'authorization') ? CONSUMED_NAME : OTHER;
    case 14:
      return is(name, 'content-length') ? LENGTH : OTHER;
    case 16:
      return is(name, 'proxy-connection') ? HOP : OTHER;
    case 17:
      return is(name, 'transfer-encoding') ? HOP : OTHER;
    case 18:
      return is(name, 'proxy-authenticate') ? HOP : OTHER;
    case 19:
      return is(name, 'proxy-authorization') ? HOP : OTHER;
    case TARGET_HEADER.length:
      return is(name, TARGET_HEADER) ? CONSUMED_NAME : OTHER;
    case 22:
      return is(name, 'sec-websocket-protocol') ? WS_PROTOCOL : OTHER;
    default:
      return OTHER;
  }
}

/** The header names `Connection` headers list beyond the hop-by-hop ones, or undefined when there are none (the usual case). */
function connectionNamed(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const header = raw[i] as string;
    // Only a name of this length can be `Connection`: most headers are never lower-cased here.
    if (!isName(header, 'connection')) continue;
    const given = raw[i + 1] as string;
    // The usual values name nothing beyond the hop-by-hop headers dropped anyway.
    if (isName(given, 'keep-alive') || isName(given, 'close')) continue;
    const value = given.toLowerCase();
    for (const token of value.split(',')) {
      const name = token.trim();
      if (!name || HOP_BY_HOP.has(name)) continue;
      named ??= new Set();
      named.add(name);
    }
  }
  return named;
}

/**
 * The request headers the app receives, in the caller's order and spelling
 * (a flat `[name, value, …]` list, as Node's `rawHeaders`): everything but
 * hop-by-hop headers, `Authorization`, `X-Oblien-Proxy-Target` and `Expect`
 * (the agent answered `100-continue` itself). `X-Request-Id` is replaced by
 * the agent's id, so the app logs the same id as the agent. `keep` lists
 * hop-by-hop headers to pass anyway (`Upgrade` and `Connection` on upgrades),
 * `tokenProtocols` subprotocol values that carry the token; `chunked` says
 * the caller's body is chunked (the agent re-chunks it); `reframed` that the
 * connection to the app frames the body itself (Content-Length is dropped too).
 */
export function requestHeadersForApp(
  raw: readonly string[],
  requestId: string,
  options: { upgrade?: boolean; chunked?: boolean; reframed?: boolean; tokenProtocols?: ReadonlySet<string> } = {},
): string[] {
  const named = options.upgrade ? undefined : connectionNamed(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const kind = kindOf(name);
    if (kind === CONSUMED_NAME || kind === REQUEST_ID) continue;
    if (options.upgrade) {
      if (kind === WS_PROTOCOL && options.tokenProtocols?.size) {
        const offered = value
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v && !options.tokenProtocols?.has(v));
        if (offered.length > 0) out.push(name, offered.join(', '));
        continue;
      }
      if (kind === HOP && (is(name, 'connection') || is(name, 'upgrade'))) {
        out.push(name, value);
        continue;
      }
    }
    if (kind === HOP || (kind === LENGTH && options.reframed) || named?.has(name.toLowerCase()) === true) continue;
    out.push(name, value);
  }
  // A chunked body stays chunked: for GET, DELETE or OPTIONS node:http would otherwise send it unframed.
  if (options.chunked) out.push('Transfer-Encoding', 'chunked');
  out.push(REQUEST_ID_HEADER, requestId);
  return out;
}

/**
 * `requestHeadersForApp(raw, requestId, { reframed: true })` as header lines
 * (`name: value\r\n` each), built without the intermediate list: the wire's
 * relay sends them as they are.
 */
export function requestHeaderLinesForApp(raw: readonly string[], requestId: string): string {
  const named = connectionNamed(raw);
  let lines = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const kind = kindOf(name);
    if (kind !== OTHER && kind !== WS_PROTOCOL) continue;
    if (named?.has(name.toLowerCase())) continue;
    lines += `${name}: ${raw[i + 1] as string}\r\n`;
  }
  return `${lines}${REQUEST_ID_HEADER}: ${requestId}\r\n`;
}

/**
 * The app's response headers for the caller: everything but hop-by-hop
 * headers (the agent frames the answer itself) and the app's own
 * `X-Request-Id` (every agent answer carries the agent's, which the caller
 * adds).
 */
export function appResponseHeaders(raw: readonly string[], options: { upgrade?: boolean } = {}): string[] {
  const named = options.upgrade ? undefined : connectionNamed(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const kind = kindOf(name);
    if (kind === REQUEST_ID) continue;
    if (kind === HOP) {
      if (options.upgrade && (is(name, 'connection') || is(name, 'upgrade'))) out.push(name, raw[i + 1] as string);
      continue;
    }
    if (named?.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** `appResponseHeaders` and the agent's `X-Request-Id`. */
export function responseHeadersForCaller(raw: readonly string[], requestId: string, options: { upgrade?: boolean } = {}): string[] {
  const out = appResponseHeaders(raw, options);
  out.push(REQUEST_ID_HEADER, requestId);
  return out;
}
