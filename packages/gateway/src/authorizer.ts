import { AppError, type GatewayClaims, type WorkspaceRoute } from '@cove/protocol';
import type { RouteCache } from './route-cache.js';
import type { CachedClaims, TokenVerifier } from './token-verifier.js';
import type { Waker } from './wake.js';

/** Where an authorized request goes and how it authenticates there. */
export interface Upstream {
  workspaceId: string;
  ip: string;
  port: number;
  /** `http://ip:port` (IPv6 in brackets): the key of the connection pool. */
  origin: string;
  /** `ip:port` (IPv6 in brackets): the Host header the agent gets. */
  host: string;
  /** `Bearer <agent raw token>`: replaces the caller's JWT. */
  authorization: string;
  /** The Host and Authorization header lines of a request to the agent, built once per route. */
  headLines: string;
}

/**
 * Turns a presented gateway JWT into an upstream, or refuses it:
 * 401 for a token that is not (or no longer) valid — bad signature, expired,
 * revoked by a rotation or disable (generation), or issued for an address
 * that is not the workspace's current one — 403 when the workspace's network
 * setting forbids public access, 503 when the workspace or its server is off.
 */
export class Authorizer {
  readonly #tokens: TokenVerifier;
  readonly #routes: RouteCache;
  readonly #waker: Waker | undefined;
  /** Per caller connection, what its last request was admitted with (see `again`). */
  readonly #admitted = new WeakMap<object, Admitted>();

  constructor(tokens: TokenVerifier, routes: RouteCache, waker?: Waker) {
    this.#tokens = tokens;
    this.#routes = routes;
    this.#waker = waker;
  }

  /**
   * Synchronous when both the token and the route are cached (the hot path).
   * With `connection` and the request's `authorization` header, a synchronous
   * admission is remembered for that connection (see `again`).
   */
  authorize(token: string, connection?: object, authorization?: string): Upstream | Promise<Upstream> {
    const verified = this.#tokens.verified(token);
    if (verified instanceof Promise) return verified.then((v) => this.#withRoute(v.claims));
    const claims = verified.claims;
    const route = this.#routes.get(claims.wid);
    if (route instanceof Promise) return route.then((r) => this.#check(claims, r));
    const upstream = this.#check(claims, route);
    if (connection !== undefined && authorization !== undefined && !(upstream instanceof Promise) && route !== undefined) {
      const known = this.#admitted.get(connection);
      if (known === undefined) this.#admitted.set(connection, { authorization, verified, route, upstream });
      else {
        known.authorization = authorization;
        known.verified = verified;
        known.route = route;
        known.upstream = upstream;
      }
    }
    return upstream;
  }

  /**
   * The upstream of a request on `connection` that sends the same
   * `Authorization` as the request last admitted there, when nothing the
   * admission rested on has changed: the token is still within its validity
   * and the route cache still holds the very route object it was checked
   * against (a route past `routeCacheMs`, or dropped by `Gateway.routeChanged`,
   * is looked up again; a new answer is a new object). Undefined otherwise:
   * the request goes through `authorize`. Skips the bearer parsing, the token
   * cache's hashing of the whole JWT and the route checks, a fair share of a
   * small relayed request's cost. The `===` compares only what this caller
   * itself sent and had accepted.
   */
  again(connection: object, authorization: string): Upstream | undefined {
    const known = this.#admitted.get(connection);
    if (known === undefined || known.authorization !== authorization || !this.#tokens.isCurrent(known.verified)) return undefined;
    return this.#routes.get(known.verified.claims.wid) === known.route ? known.upstream : undefined;
  }

  #withRoute(claims: GatewayClaims): Upstream | Promise<Upstream> {
    const route = this.#routes.get(claims.wid);
    if (route instanceof Promise) return route.then((r) => this.#check(claims, r));
    return this.#check(claims, route);
  }

  #check(claims: GatewayClaims, route: WorkspaceRoute | undefined, woken = false): Upstream | Promise<Upstream> {
    if (route === undefined) throw new AppError('unauthorized', 'invalid token: unknown workspace');
    if (claims.gen !== route.generation) throw new AppError('unauthorized', 'token revoked');
    // A sleeping workspace is woken for a valid token it accepts, then checked again as it is now (a stopped
    // one has no address until it starts).
    if (!route.running && route.wakeable && route.publicAccess && this.#waker !== undefined && !woken) {
      return this.#waker.wake(claims.wid).then((fresh) => this.#check(claims, fresh, true));
    }
    // The address is compared, never used: requests only ever go to the store's current address. A stopped
    // workspace has none (a restart passes through that state): it is answered as not running, below.
    if (route.ip !== '' && (claims.ip !== route.ip || claims.port !== route.port)) {
      throw new AppError('unauthorized', 'token was issued for another address of the workspace; get a fresh token');
    }
    if (!route.publicAccess) {
      throw new AppError('forbidden', 'the workspace does not allow access through the gateway (network public_access is false)');
    }
    if (!route.running) {
      throw new AppError('service_unavailable', route.paused ? 'the workspace is paused; resume it first' : 'the workspace is not running');
    }
    if (!route.enabled) throw new AppError('service_unavailable', "the workspace's internal API server is disabled");
    return upstreamOf(route);
  }
}

/** A connection's last admission: its Authorization value, the token's claims and the route they were checked against. */
interface Admitted {
  authorization: string;
  verified: CachedClaims;
  route: WorkspaceRoute;
  upstream: Upstream;
}

/** Upstreams derived from route objects, so a cached route costs no string building. */
const upstreams = new WeakMap<WorkspaceRoute, Upstream>();

/** Where requests for a (checked) route go: the store's current address, with the agent's raw token. */
export function upstreamOf(route: WorkspaceRoute): Upstream {
  let upstream = upstreams.get(route);
  if (upstream === undefined) {
    const host = route.ip.includes(':') ? `[${route.ip}]` : route.ip;
    const authorization = `Bearer ${route.rawToken}`;
    upstream = {
      workspaceId: route.workspaceId,
      ip: route.ip,
      port: route.port,
      origin: `http://${host}:${route.port}`,
      host: `${host}:${route.port}`,
      authorization,
      headLines: `host: ${host}:${route.port}\r\nauthorization: ${authorization}\r\n`,
    };
    upstreams.set(route, upstream);
  }
  return upstream;
}
