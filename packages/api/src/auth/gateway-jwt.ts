import { randomBytes } from 'node:crypto';
import { type GatewayClaims, SESSION_TOKEN_TTL_SECONDS, WORKSPACE_TOKEN_TTL_SECONDS } from '@cove/protocol';
import { jwtVerify, SignJWT } from 'jose';
import type { Store } from '../store/store.js';

/** Settings key of the HS256 secret shared by the control plane and the gateway. */
export const GATEWAY_SECRET_SETTING = 'gateway_jwt_secret';

/**
 * The gateway JWT secret lives in the store: created on first start, then
 * shared by every control plane and gateway on the same database with no
 * file to copy around.
 */
export async function loadGatewaySecret(store: Store): Promise<Uint8Array> {
  const value = await store.ensureSetting(GATEWAY_SECRET_SETTING, () => randomBytes(32).toString('base64url'));
  return new Uint8Array(Buffer.from(value, 'base64url'));
}

export interface IssuedJwt {
  token: string;
  claims: GatewayClaims;
  expiresAt: Date;
}

/** Signs a gateway JWT for a workspace's current address and generation. */
export async function signGatewayJwt(
  secret: Uint8Array,
  target: { workspaceId: string; ip: string; port: number; generation: number },
  kind: GatewayClaims['kind'],
  now = Date.now(),
  sessionTtlSeconds = SESSION_TOKEN_TTL_SECONDS,
): Promise<IssuedJwt> {
  const iat = Math.floor(now / 1000);
  const exp = iat + (kind === 'workspace' ? WORKSPACE_TOKEN_TTL_SECONDS : sessionTtlSeconds);
  const claims: GatewayClaims = { wid: target.workspaceId, ip: target.ip, port: target.port, gen: target.generation, kind, iat, exp };
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(target.workspaceId)
    .setIssuer('cove')
    .sign(secret);
  return { token, claims, expiresAt: new Date(exp * 1000) };
}

/** Verifies a gateway JWT (HS256 only) and returns its claims; used by tests and tools. */
export async function verifyGatewayJwt(secret: Uint8Array, token: string): Promise<GatewayClaims> {
  const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], issuer: 'cove' });
  return payload as unknown as GatewayClaims;
}
