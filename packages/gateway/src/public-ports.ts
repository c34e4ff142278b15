import type { Duplex } from 'node:stream';
import { AppError, bearerToken, offeredProtocols, type PublicPortRoute, redactUrl, type WorkspaceRoute } from '@cove/protocol';
import type { Exchange, RequestHead, UpstreamPools } from '@cove/wire';
import { asAppError, answerAndClose as rejectUpgrade } from '@cove/wire';
import type { Logger } from 'pino';
import { type Upstream, upstreamOf } from './authorizer.js';
import { answerPublicError } from './error-pages.js';
import { forwardedHeaderLines, publicResponseHeaders } from './forward-headers.js';
import type { PreviewHostMatch, PreviewHosts } from './preview-host.js';
import { portTokenCookie, portTokenMatches, splitQueryToken } from './public-port-auth.js';
import { PROXY_TARGET_HEADER, type ScannedPublicRequest, scanPublicRequest } from './public-port-headers.js';
import type { Relays } from './relays.js';
import type { PublicPortCache, RouteCache } from './route-cache.js';
import type { Waker } from './wake.js';
import { tunnel } from './ws-proxy.js';

export interface PublicPortsDeps {
  hosts: PreviewHosts;
  ports: PublicPortCache;
  routes: RouteCache;
  pools: UpstreamPools;
  log: Logger;
  /** Tunnels by workspace (ended when it dies and when the gateway closes), and the pools' addresses by workspace. */
  relays: Relays;
  /** How often connections of exposed ports are checked against the store (ms). Default 250. */
  sweepMs?: number;
  /** Wakes sleeping workspaces for their ports' visitors (absent: they are answered 503). */
  waker?: Waker | undefined;
}

/** What a connection serving an exposed port was admitted under. */
interface Admission {
  slug: string;
  workspaceId: string;
  generation: number;
  /** A request on it is being admitted (its workspace may be waking): the sweep leaves it alone meanwhile. */
  busy?: boolean;
}

/** An admitted request: where it goes, and the port it was admitted under. */
interface Admitted {
  port: PublicPortRoute;
  upstream: Upstream;
}

/**
 * Exposed workspace ports, served by host name (`<slug>.<preview domain>`):
 * the slug is looked up (cached briefly, like routes), a token port's token
 * checked, then the request is relayed through the wire exactly as the data
 * plane's are, to the agent's `/proxy<path>` with `X-Oblien-Proxy-Target`
 * and the agent's raw token. No gateway JWT is involved, and the
 * workspace's `public_access` is not required: exposing the port is the
 * consent. Connections admitted for a slug (kept-alive ones and WebSockets)
 * are remembered, and one sweep cuts those whose port was revoked or changed
 * (another generation) or whose workspace stopped, within a second.
 */
export class PublicPorts {
  readonly #deps: PublicPortsDeps;
  readonly #admitted = new Map<Duplex, Admission>();
  readonly #sweepMs: number;
  #sweeper: NodeJS.Timeout | undefined;
  #sweeping = false;

  constructor(deps: PublicPortsDeps) {
    this.#deps = deps;
    this.#sweepMs = deps.sweepMs ?? 250;
  }

  /** Whether `host` names an exposed port (see PreviewHosts.match); undefined for every other host. */
  match(host: string | undefined): PreviewHostMatch | undefined {
    return host === undefined ? undefined : this.#deps.hosts.match(host);
  }

  /** A plain request for an exposed port. */
  request(exchange: Exchange, match: PreviewHostMatch): void {
    const req = exchange.request;
    const { log } = this.#deps;
    if (log.isLevelEnabled('debug'))
      log.debug({ reqId: req.requestId, method: req.method, url: redactUrl(req.url) }, 'public port request');
    const scanned = scanPublicRequest(req);
    const fail = (err: unknown): void => {
      const error = asAppError(err);
      if (error.code === 'internal_error') log.error({ err, reqId: req.requestId }, 'public port look-up failed');
      // A refused request's body is not read: the connection closes after the answer.
      answerPublicError(exchange, error, scanned.accept);
    };
    if ('error' in match) {
      fail(match.error);
      return;
    }
    const target = checkedTarget(req.url, scanned, match.host);
    if (target instanceof AppError) {
      fail(target);
      return;
    }
    const query = splitQueryToken(target);
    const kept = this.#admitted.get(exchange.socket);
    if (kept !== undefined) kept.busy = true;
    this.#admit(match, scanned, query.hadToken, query.token, false)
      .then((admitted) => {
        if (exchange.done) return;
        if (query.hadToken && admitted.port.auth === 'token') {
          // The token leaves the URL: kept in a cookie for this host, out of the address bar, history and the app's view.
          const cookie = portTokenCookie(query.token as string);
          if (req.method === 'GET' || req.method === 'HEAD') {
            exchange.respond(
              302,
              { location: safeLocation(query.target), 'set-cookie': cookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
              '',
            );
            return;
          }
          // Other methods are not redirected (a body would be lost): relayed without the token, the cookie set on the answer.
          exchange.addResponseHeader('set-cookie', cookie);
        }
        this.#track(exchange.socket, admitted.port);
        exchange.relay = {
          responseHeaders: publicResponseHeaders,
          // An agent that cannot be reached is the workspace being unavailable, said on a page to browsers.
          answerFailure: (answer, cause) => fail(agentFailure(answer, cause, match.host)),
        };
        const upstream = admitted.upstream;
        const head =
          `${req.method} /proxy${query.target} HTTP/1.1\r\nhost: ${scanned.host as string}\r\n${scanned.forward}` +
          `authorization: ${upstream.authorization}\r\n${PROXY_TARGET_HEADER}: ${admitted.port.port}\r\n` +
          forwardedHeaderLines(req, scanned.host);
        // Their own pool: its connections carry only `/proxy`, which the agent relays on its raw wire; a
        // connection that served a data-plane request is node:http's at the agent, a slower path for apps.
        const origin = `${upstream.origin}#proxy`;
        this.#deps.relays.noteOrigin(origin, upstream.workspaceId);
        this.#deps.pools.forward({ ...upstream, origin }, exchange, head);
      })
      // A throw while relaying is answered (or cuts the exchange), never an unhandled rejection.
      .catch(fail);
  }

  /** An upgrade (WebSocket) for an exposed port: the same admission, then the data plane's tunnel. */
  upgrade(req: RequestHead, socket: Duplex, head: Buffer, match: PreviewHostMatch): void {
    const { log } = this.#deps;
    const refuse = (err: unknown): void => {
      const error = asAppError(err);
      if (error.code === 'internal_error') log.error({ err, reqId: req.requestId }, 'public port look-up failed');
      else log.debug({ url: redactUrl(req.url), code: error.code, reqId: req.requestId }, 'public port upgrade refused');
      rejectUpgrade(socket, error, req.requestId);
    };
    if ('error' in match) {
      refuse(match.error);
      return;
    }
    const scanned = scanPublicRequest(req);
    const target = checkedTarget(req.url, scanned, match.host);
    if (target instanceof AppError) {
      refuse(target);
      return;
    }
    const query = splitQueryToken(target);
    this.#admit(match, scanned, query.hadToken, query.token, true)
      .then((admitted) => {
        if (socket.destroyed) return;
        this.#track(socket, admitted.port);
        const headers: Record<string, string> = {};
        for (const [name, value] of scanned.pairs) {
          const lower = name.toLowerCase();
          // Subprotocols are the app's, except the data plane's token carrier: no JWT reaches an app.
          const kept =
            lower === 'sec-websocket-protocol'
              ? offeredProtocols(value)
                  .filter((p) => !p.startsWith('bearer.'))
                  .join(', ')
              : value;
          if (kept === '') continue;
          // Repeated headers become one list; cookies are listed with `; `.
          headers[lower] = headers[lower] === undefined ? kept : `${headers[lower]}${lower === 'cookie' ? '; ' : ', '}${kept}`;
        }
        headers.host = scanned.host as string;
        headers['x-forwarded-for'] = req.remoteAddress;
        headers['x-forwarded-proto'] = 'http';
        headers['x-forwarded-host'] = scanned.host as string;
        headers['x-request-id'] = req.requestId;
        headers.connection = 'Upgrade';
        headers.upgrade = 'websocket';
        headers.authorization = admitted.upstream.authorization;
        headers[PROXY_TARGET_HEADER] = String(admitted.port.port);
        // No subprotocol is echoed for the app: what it chooses (or not) is its answer.
        tunnel(this.#deps, req, socket, head, admitted.upstream, `/proxy${query.target}`, headers, []);
      })
      .catch(refuse);
  }

  /** Stops the sweep (the gateway closes the connections themselves). */
  close(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#admitted.clear();
  }

  /**
   * The slug's port, its token (for `auth: 'token'`), then its workspace's
   * state, in that order: a caller without the token learns nothing about
   * the workspace.
   */
  async #admit(
    match: { slug: string; host: string },
    scanned: ScannedPublicRequest,
    hadQueryToken: boolean,
    queryToken: string | undefined,
    upgrade: boolean,
  ): Promise<Admitted> {
    const port = match.slug === '' ? undefined : await this.#deps.ports.get(match.slug);
    if (port === undefined) throw new AppError('not_found', `no workspace port is exposed at ${match.host}`);
    if (port.auth === 'token') {
      if (hadQueryToken) {
        if (!portTokenMatches(port, queryToken)) throw new AppError('unauthorized', `wrong token for ${match.host}`);
      } else if (
        !portTokenMatches(port, bearerToken(scanned.authorization)) &&
        // A browser sends the cookie with upgrades from pages of other slugs too (same site): only same-origin ones count.
        !(portTokenMatches(port, scanned.cookieToken) && (!upgrade || sameOrigin(scanned.origin, scanned.host)))
      ) {
        throw new AppError(
          'unauthorized',
          `${match.host} needs its token: open it with ?token=<token>, or send Authorization: Bearer <token>`,
          { 'www-authenticate': 'Bearer' },
        );
      }
    }
    let route = await this.#deps.routes.get(port.workspaceId);
    if (route !== undefined && !route.running && route.wakeable && this.#deps.waker !== undefined) {
      route = await this.#deps.waker.wake(port.workspaceId);
    }
    return { port, upstream: reachable(route, match.host) };
  }

  #track(socket: Duplex, port: PublicPortRoute): void {
    const admission = this.#admitted.get(socket);
    if (admission === undefined) {
      this.#admitted.set(socket, { slug: port.slug, workspaceId: port.workspaceId, generation: port.generation });
      socket.once('close', () => this.#admitted.delete(socket));
    } else {
      // A connection serves one request at a time: it answers to the port of its latest one.
      admission.slug = port.slug;
      admission.workspaceId = port.workspaceId;
      admission.generation = port.generation;
      admission.busy = false;
    }
    if (this.#sweeper === undefined) {
      this.#sweeper = setInterval(() => void this.#sweep(), this.#sweepMs);
      this.#sweeper.unref();
    }
  }

  /**
   * Re-resolves every slug with open connections (through the caches: the
   * store sees at most two look-ups a second per slug) and cuts the
   * connections whose port is gone or changed, or whose workspace stopped. A
   * failing store cuts nothing. One sweep at a time; none while nothing is open.
   */
  async #sweep(): Promise<void> {
    if (this.#sweeping) return;
    if (this.#admitted.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      return;
    }
    this.#sweeping = true;
    try {
      const bySlug = new Map<string, Array<[Duplex, Admission]>>();
      for (const entry of this.#admitted) {
        const list = bySlug.get(entry[1].slug);
        if (list === undefined) bySlug.set(entry[1].slug, [entry]);
        else list.push(entry);
      }
      await Promise.all([...bySlug].map(([slug, list]) => this.#recheck(slug, list)));
    } finally {
      this.#sweeping = false;
    }
  }

  async #recheck(slug: string, list: Array<[Duplex, Admission]>): Promise<void> {
    let port: PublicPortRoute | undefined;
    let route: WorkspaceRoute | undefined;
    try {
      port = await this.#deps.ports.get(slug);
      if (port !== undefined) route = await this.#deps.routes.get(port.workspaceId);
    } catch {
      return;
    }
    const live = route?.running === true && route.enabled;
    for (const [socket, admission] of list) {
      if (admission.busy) continue;
      if (!live || port === undefined || port.generation !== admission.generation || port.workspaceId !== admission.workspaceId) {
        this.#admitted.delete(socket);
        socket.destroy();
      }
    }
  }
}

/**
 * The request target as a path. Absolute form (`GET http://host/p`) must
 * name the Host's own name: the slug is read from the Host, and a target
 * naming another host would route by something a proxy in front did not see.
 */
function checkedTarget(url: string, scanned: ScannedPublicRequest, name: string): string | AppError {
  if (scanned.hosts !== 1) return new AppError('bad_request', 'a request must carry exactly one Host header');
  if (url.charCodeAt(0) === 47 /* / */) return url;
  if (/^https?:\/\//i.test(url)) {
    try {
      const parsed = new URL(url);
      if (parsed.hostname.toLowerCase() === name) return `${parsed.pathname}${parsed.search}`;
    } catch {
      // refused below
    }
  }
  return new AppError('bad_request', 'the request target must be a path (/…) or an absolute URL of this host');
}

/** The agent's upstream for a workspace that can answer, or why it cannot. */
function reachable(route: WorkspaceRoute | undefined, name: string): Upstream {
  if (route === undefined) throw new AppError('not_found', `no workspace port is exposed at ${name}`);
  if (!route.running) {
    throw new AppError(
      'service_unavailable',
      route.paused ? `the workspace behind ${name} is paused; resume it to reach this port` : `the workspace behind ${name} is not running`,
    );
  }
  if (!route.enabled)
    throw new AppError('service_unavailable', `the workspace behind ${name} cannot be reached (its agent is not serving)`);
  return upstreamOf(route);
}

/** A failure to reach the agent, as a public port's caller is told: unreachable → 503; timeouts and bad answers as they are. */
function agentFailure(answer: AppError, cause: Error, name: string): AppError {
  if ((answer.code !== 'bad_gateway' && answer.code !== 'agent_unavailable') || (cause as { code?: unknown }).code === 'UPSTREAM_PROTOCOL')
    return answer;
  return new AppError('service_unavailable', `the workspace behind ${name} cannot be reached (its agent does not answer)`);
}

/** Whether a browser's Origin is the request's own host (no Origin: not a browser's cross-site request). */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host.toLowerCase() === (host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** A redirect target that stays on this host: `//x` or `/\x` would be read by browsers as another host. */
function safeLocation(path: string): string {
  const second = path.charCodeAt(1);
  return second === 47 /* / */ || second === 92 /* \ */ ? `/.${path}` : path;
}
