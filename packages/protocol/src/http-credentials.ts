/**
 * Pure helpers about how a client presents a token over HTTP, shared by
 * every server that authenticates callers (agent, gateway). No I/O, no
 * Node types: strings in, strings out.
 */

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Strips secrets from a URL before it is logged (`?token=` of WebSocket upgrades). */
export function redactUrl(url: string | undefined): string {
  if (!url) return '';
  return url.replace(/([?&](?:token|access_token|x_oblien_target)=)[^&#]*/gi, '$1[REDACTED]');
}

/** The values of a `Sec-WebSocket-Protocol` header, in order. */
export function offeredProtocols(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/**
 * A token offered as a WebSocket subprotocol (browsers cannot set headers on
 * a WebSocket): `bearer.<token>`, or the bare token offered beside `bearer`.
 */
export function subprotocolToken(offered: readonly string[]): string | undefined {
  for (const value of offered) if (value.startsWith('bearer.')) return value.slice('bearer.'.length);
  const others = offered.filter((v) => v !== 'bearer');
  if (offered.includes('bearer') && others.length === 1) return others[0];
  return undefined;
}

/**
 * Whether a WebSocket upgrade's `Origin` may open a socket. Browsers always
 * send `Origin`, other clients usually do not: an upgrade without one is
 * allowed; with one, its host must be the request's own `Host` or the origin
 * must be listed in `allowed` (full origins, or `*`).
 */
export function upgradeOriginAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined || origin === '') return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return false;
  }
  return host !== undefined && originHost.toLowerCase() === host.toLowerCase();
}
