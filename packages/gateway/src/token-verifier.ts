import { AppError, type GatewayClaims } from '@cove/protocol';
import { errors as joseErrors, jwtVerify } from 'jose';
import { LruCache } from './lru-cache.js';

/** Verified claims plus the instants (ms) between which they are valid. */
export interface CachedClaims {
  claims: GatewayClaims;
  notBeforeMs: number;
  expiresMs: number;
}

export interface TokenVerifierOptions {
  secret: Uint8Array | string;
  /** Verified tokens kept, so the hot path does not re-run HMAC and JSON parsing. */
  cacheSize?: number;
  /** Clock skew tolerated between the control plane and the gateway, in seconds. */
  clockToleranceSeconds?: number;
}

const WORKSPACE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Verifies gateway JWTs: HS256 only (the algorithm is pinned, so `none`,
 * RS256/ES256 and key-confusion tricks fail), a signature by the shared
 * secret, `exp` required and honoured, `nbf` honoured, and claims of the
 * right types. Successes are cached by token string; a cached token is
 * still refused once it expires.
 */
export class TokenVerifier {
  readonly #key: Uint8Array;
  readonly #cache: LruCache<string, CachedClaims>;
  readonly #toleranceMs: number;
  readonly #toleranceSeconds: number;

  constructor(options: TokenVerifierOptions) {
    this.#key = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
    // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
    if (this.#key.byteLength < 32) throw new Error('the gateway JWT secret must be at least 32 bytes');
    this.#cache = new LruCache(options.cacheSize ?? 10_000);
    this.#toleranceSeconds = options.clockToleranceSeconds ?? 5;
    this.#toleranceMs = this.#toleranceSeconds * 1000;
  }

  /** The claims of a valid token; throws `unauthorized` otherwise. Synchronous when cached. */
  verify(token: string): GatewayClaims | Promise<GatewayClaims> {
    const cached = this.verified(token);
    return cached instanceof Promise ? cached.then((c) => c.claims) : cached.claims;
  }

  /** Like `verify`, with the instants between which the claims are valid (see `isCurrent`). */
  verified(token: string): CachedClaims | Promise<CachedClaims> {
    const cached = this.#cache.get(token);
    if (cached !== undefined) {
      const now = Date.now();
      if (now >= cached.expiresMs + this.#toleranceMs) {
        this.#cache.delete(token);
        throw new AppError('unauthorized', 'token expired');
      }
      if (now < cached.notBeforeMs - this.#toleranceMs) throw new AppError('unauthorized', 'token not yet valid');
      return cached;
    }
    return this.#verifySlow(token);
  }

  /** Whether claims `verified` returned are still within their validity now (the check `verified` makes). */
  isCurrent(cached: CachedClaims): boolean {
    const now = Date.now();
    return now < cached.expiresMs + this.#toleranceMs && now >= cached.notBeforeMs - this.#toleranceMs;
  }

  clear(): void {
    this.#cache.clear();
  }

  async #verifySlow(token: string): Promise<CachedClaims> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        clockTolerance: this.#toleranceSeconds,
      }));
    } catch (err) {
      throw new AppError('unauthorized', describe(err));
    }
    const claims = readClaims(payload);
    const nbf = typeof payload.nbf === 'number' ? payload.nbf * 1000 : 0;
    const cached = { claims, notBeforeMs: nbf, expiresMs: claims.exp * 1000 };
    this.#cache.set(token, cached);
    return cached;
  }
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf') return 'token not yet valid';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `invalid token: ${err.claim} claim`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'invalid token: algorithm not allowed';
  return 'invalid token';
}

/** Checks the gateway's own claims: a token the control plane did not shape is refused. */
function readClaims(payload: Record<string, unknown>): GatewayClaims {
  const { wid, ip, port, gen, kind, sub, iat, exp } = payload;
  if (typeof wid !== 'string' || !WORKSPACE_ID.test(wid)) throw new AppError('unauthorized', 'invalid token: wid claim');
  if (sub !== undefined && sub !== wid) throw new AppError('unauthorized', 'invalid token: sub claim');
  if (typeof ip !== 'string' || ip.length === 0) throw new AppError('unauthorized', 'invalid token: ip claim');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new AppError('unauthorized', 'invalid token: port claim');
  }
  if (typeof gen !== 'number' || !Number.isInteger(gen)) throw new AppError('unauthorized', 'invalid token: gen claim');
  if (typeof exp !== 'number') throw new AppError('unauthorized', 'invalid token: exp claim');
  return {
    wid,
    ip,
    port,
    gen,
    kind: kind === 'workspace' ? 'workspace' : 'session',
    iat: typeof iat === 'number' ? iat : 0,
    exp,
  };
}
