import { createHash, timingSafeEqual } from 'node:crypto';
import type { PublicPortRoute } from '@cove/protocol';

/** The cookie a token port's token is kept in once presented in the URL (host-only, so one per slug). */
export const PORT_TOKEN_COOKIE = 'cove_port_token';

/** Decoded `tokenSha256` per route object: a cached route costs no hex parsing. */
const digests = new WeakMap<PublicPortRoute, Buffer | null>();

function expectedDigest(port: PublicPortRoute): Buffer | null {
  let digest = digests.get(port);
  if (digest === undefined) {
    const hex = port.tokenSha256;
    digest = typeof hex === 'string' && /^[0-9a-f]{64}$/i.test(hex) ? Buffer.from(hex, 'hex') : null;
    digests.set(port, digest);
  }
  return digest;
}

/** Whether `token` is the port's: SHA-256 digests compared in constant time (no hash stored, no token). */
export function portTokenMatches(port: PublicPortRoute, token: string | undefined): boolean {
  if (token === undefined || token === '') return false;
  const expected = expectedDigest(port);
  if (expected === null) return false;
  return timingSafeEqual(createHash('sha256').update(token).digest(), expected);
}

/** The `Set-Cookie` value that keeps the token for this host: HttpOnly (no script reads it), SameSite=Lax, no Domain. */
export function portTokenCookie(token: string): string {
  return `${PORT_TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Lax`;
}

/**
 * Splits a Cookie header into our token (last one wins) and the rest, which
 * goes to the app as it was written, minus ours.
 */
export function splitCookies(value: string | undefined): { token: string | undefined; rest: string | undefined } {
  if (value === undefined || !value.includes(PORT_TOKEN_COOKIE)) return { token: undefined, rest: value };
  let token: string | undefined;
  const kept: string[] = [];
  for (const part of value.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq >= 0 && trimmed.slice(0, eq).trim() === PORT_TOKEN_COOKIE) {
      try {
        token = decodeURIComponent(trimmed.slice(eq + 1).trim());
      } catch {
        token = undefined;
      }
      continue;
    }
    kept.push(trimmed);
  }
  return { token, rest: kept.length > 0 ? kept.join('; ') : undefined };
}

/** Query parameters the gateway consumes on public ports: the port's token, and the agent's own target selector. */
const CONSUMED_QUERY = new Set(['token', 'x_oblien_target']);

/**
 * The request target without the consumed parameters, every other one left
 * byte for byte as written (order, encoding, repeats), and the `token` value.
 */
export function splitQueryToken(target: string): { target: string; token: string | undefined; hadToken: boolean } {
  const q = target.indexOf('?');
  if (q < 0 || !(target.includes('token', q) || target.includes('x_oblien_target', q))) {
    return { target, token: undefined, hadToken: false };
  }
  let token: string | undefined;
  let hadToken = false;
  const kept: string[] = [];
  for (const pair of target.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const name = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (name !== undefined && CONSUMED_QUERY.has(name)) {
      if (name === 'token') {
        hadToken = true;
        token = safeDecode(eq < 0 ? '' : pair.slice(eq + 1));
      }
      continue;
    }
    kept.push(pair);
  }
  const path = target.slice(0, q);
  return { target: kept.length > 0 ? `${path}?${kept.join('&')}` : path, token, hadToken };
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}
