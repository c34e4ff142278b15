import { generateKeyPair, SignJWT } from 'jose';

export const SECRET = 'test-gateway-secret-0123456789abcdef0123456789';

export interface MintClaims {
  wid: string;
  ip: string;
  port: number;
  gen: number;
  kind?: 'session' | 'workspace';
}

/** Mints a gateway JWT as the control plane does (HS256, shared secret). */
export async function mintToken(
  claims: MintClaims,
  options: { secret?: string; expiresInSeconds?: number; notBeforeSeconds?: number; iatOffsetSeconds?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...claims, kind: claims.kind ?? 'session' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.wid)
    .setIssuedAt(now + (options.iatOffsetSeconds ?? 0))
    .setExpirationTime(now + (options.expiresInSeconds ?? 3600));
  if (options.notBeforeSeconds !== undefined) jwt.setNotBefore(now + options.notBeforeSeconds);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

/** An unsigned token (`alg: none`) with the given claims. */
export function unsignedToken(claims: MintClaims): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...claims, sub: claims.wid, kind: 'session', iat: now, exp: now + 3600 })}.`;
}

/** A token signed with an asymmetric algorithm by a key the gateway has never seen. */
export async function asymmetricToken(claims: MintClaims, alg: 'RS256' | 'ES256'): Promise<string> {
  const { privateKey } = await generateKeyPair(alg);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims, kind: 'session' })
    .setProtectedHeader({ alg })
    .setSubject(claims.wid)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(privateKey);
}
