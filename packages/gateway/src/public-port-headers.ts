import type { RequestHead } from '@cove/wire';
import { connectionListed, dropRequestHeader } from './forward-headers.js';
import { splitCookies } from './public-port-auth.js';

/** The agent's `/proxy` target selector: only the gateway sets it on public-port requests. */
export const PROXY_TARGET_HEADER = 'x-oblien-proxy-target';

/** What a public-port request carries, read in one pass over the raw headers. */
export interface ScannedPublicRequest {
  /** How many Host headers: more than one is refused (which one names the slug would be ambiguous). */
  hosts: number;
  host: string | undefined;
  authorization: string | undefined;
  accept: string | undefined;
  origin: string | undefined;
  /** Our cookie's value, when the caller sent it. */
  cookieToken: string | undefined;
  /** The headers the app may see, as `name: value\r\n` lines: ours (token cookie, target) removed. */
  forward: string;
  /** The same as pairs, for upgrades (sent through node:http). */
  pairs: Array<[string, string]>;
}

/**
 * Reads a public-port request's headers: the data plane's hygiene (hop-by-hop
 * headers, Authorization, forwarding claims, framing, Expect, the request id
 * never cross), plus the port's own: the caller's `X-Oblien-Proxy-Target`
 * (only the gateway chooses the port) and our token cookie are removed;
 * everything else, Origin and the app's own cookies included, goes to the app.
 */
export function scanPublicRequest(req: RequestHead): ScannedPublicRequest {
  const raw = req.rawHeaders;
  const listed = connectionListed(req.headers.connection);
  const scanned: ScannedPublicRequest = {
    hosts: 0,
    host: undefined,
    authorization: undefined,
    accept: undefined,
    origin: undefined,
    cookieToken: undefined,
    forward: '',
    pairs: [],
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    let value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'host') {
      scanned.hosts++;
      scanned.host = value;
    } else if (lower === 'authorization') scanned.authorization = value;
    else if (lower === 'accept') scanned.accept = scanned.accept === undefined ? value : `${scanned.accept}, ${value}`;
    else if (lower === 'origin') scanned.origin = value;
    else if (lower === 'cookie') {
      const { token, rest } = splitCookies(value);
      if (token !== undefined) scanned.cookieToken = token;
      if (rest === undefined) continue;
      value = rest;
    }
    if (lower === PROXY_TARGET_HEADER || dropRequestHeader(lower, listed)) continue;
    scanned.forward += `${name}: ${value}\r\n`;
    scanned.pairs.push([name, value]);
  }
  return scanned;
}
