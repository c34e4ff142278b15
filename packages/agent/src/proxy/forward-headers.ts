import { REQUEST_ID_HEADER } from '@cove/protocol';
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

/** Never forwarded to the app: the caller's credentials for the agent and the proxy's own instructions. */
const CONSUMED = new Set(['authorization', TARGET_HEADER, 'expect', REQUEST_ID_HEADER]);

/** The header names `Connection` headers list (hop-by-hop too), or undefined when there are none (the usual case). */
function connectionNamed(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const header = raw[i] as string;
    // Only a name of this length can be `Connection`: most headers are never lower-cased here.
    if (header.length !== 10 || header.toLowerCase() !== 'connection') continue;
    named ??= new Set();
    for (const token of (raw[i + 1] as string).split(',')) {
      const name = token.trim().toLowerCase();
      if (name) named.add(name);
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
    const lower = name.toLowerCase();
    if (CONSUMED.has(lower)) continue;
    if (options.upgrade) {
      if (lower === 'sec-websocket-protocol' && options.tokenProtocols?.size) {
        const offered = value
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v && !options.tokenProtocols?.has(v));
        if (offered.length > 0) out.push(name, offered.join(', '));
        continue;
      }
      if (lower === 'connection' || lower === 'upgrade') {
        out.push(name, value);
        continue;
      }
    }
    if (HOP_BY_HOP.has(lower) || named?.has(lower) === true || (options.reframed && lower === 'content-length')) continue;
    out.push(name, value);
  }
  // A chunked body stays chunked: for GET, DELETE or OPTIONS node:http would otherwise send it unframed.
  if (options.chunked) out.push('Transfer-Encoding', 'chunked');
  out.push(REQUEST_ID_HEADER, requestId);
  return out;
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
    const lower = name.toLowerCase();
    if (lower === REQUEST_ID_HEADER) continue;
    if (options.upgrade && (lower === 'connection' || lower === 'upgrade')) {
      out.push(name, raw[i + 1] as string);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named?.has(lower) === true) continue;
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
