import { AppError, bearerToken, redactUrl } from '@cove/protocol';
import type { Exchange, UpstreamPools } from '@cove/wire';
import { answerError, asAppError } from '@cove/wire';
import type { Logger } from 'pino';
import type { Authorizer, Upstream } from './authorizer.js';
import { applyCors } from './cors.js';
import { forwardedHeaderLines, type ScannedRequest, scanRequestHeaders } from './forward-headers.js';
import type { PublicPorts } from './public-ports.js';
import type { Relays } from './relays.js';

const HEALTH_BODY = Buffer.from('{"status":"ok"}');
const HEALTH_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const QUERY_TOKEN = /[?&](?:token|access_token)=/;

export interface HttpProxyDeps {
  authorizer: Authorizer;
  pools: UpstreamPools;
  log: Logger;
  /** Browser origins allowed to call the gateway (CORS); empty for none. */
  allowedOrigins: readonly string[];
  /** Exposed ports, served by host name before anything else (their CORS, health and auth are the app's). */
  publicPorts?: PublicPorts | undefined;
  /** Which workspace each agent address serves, so that its connections can be cut when it dies. */
  relays: Relays;
}

/**
 * The request target as the agent expects it: a path. An absolute URL
 * (`GET http://host/files?path=a`, which HTTP/1.1 servers must accept) is cut
 * to its path and query; its host means nothing here, since routing is by
 * token. Anything else (`*`, authority form) is refused.
 */
function originForm(url: string): string | undefined {
  if (url.charCodeAt(0) === 47 /* / */) return url;
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return undefined;
  }
}

/** The gateway's request handler: health, authentication, then a streamed relay to the agent. */
export function httpProxy(deps: HttpProxyDeps): (exchange: Exchange) => void {
  const { authorizer, pools, log, allowedOrigins, publicPorts, relays } = deps;

  const forward = (exchange: Exchange, scanned: ScannedRequest, upstream: Upstream): void => {
    const req = exchange.request;
    const target = originForm(req.url);
    if (target === undefined) {
      answerError(exchange, new AppError('bad_request', 'the request target must be a path (/…) or an absolute http(s) URL'));
      return;
    }
    // The caller's Authorization and framing never go upstream: the agent gets its own token, and the
    // connection to it frames the body itself.
    const head = `${req.method} ${target} HTTP/1.1\r\n${upstream.headLines}${scanned.forward}${forwardedHeaderLines(req, scanned.host)}`;
    relays.noteOrigin(upstream.origin, upstream.workspaceId);
    pools.forward(upstream, exchange, head);
  };

  const refuse = (exchange: Exchange, err: unknown): void => {
    const error = asAppError(err);
    if (error.code === 'internal_error') log.error({ err, reqId: exchange.request.requestId }, 'authorization failed');
    // A refused request's body is not read: the connection closes after the answer.
    answerError(exchange, error);
  };

  return (exchange) => {
    const req = exchange.request;
    const scanned = scanRequestHeaders(req.rawHeaders);
    if (publicPorts !== undefined && scanned.host !== undefined) {
      // A host under the preview domain is an exposed port's; anything else is the data plane's.
      const publicPort = publicPorts.match(scanned.host);
      if (publicPort !== undefined) {
        publicPorts.request(exchange, publicPort);
        return;
      }
    }
    // One line per request at debug level, with the id the answer and the agent carry; nothing is built when off.
    if (log.isLevelEnabled('debug')) log.debug({ reqId: req.requestId, method: req.method, url: redactUrl(req.url) }, 'request');
    if (allowedOrigins.length > 0 && applyCors(exchange, allowedOrigins)) return;
    const url = req.url;
    if ((url === '/health' || url.startsWith('/health?')) && (req.method === 'GET' || req.method === 'HEAD')) {
      // No authentication: the official SDK sends its Bearer here, and load balancers send none.
      exchange.respond(200, HEALTH_HEADERS, HEALTH_BODY);
      return;
    }
    // A kept-alive caller sends the same Authorization each time: what admitted it last is reused while it holds.
    const again = scanned.authorization === undefined ? undefined : authorizer.again(exchange.socket, scanned.authorization);
    if (again !== undefined) {
      forward(exchange, scanned, again);
      return;
    }
    const token = bearerToken(scanned.authorization);
    if (token === undefined) {
      // A URL ends up in logs and browser history: only WebSocket upgrades, which cannot send headers, may carry one.
      const message = QUERY_TOKEN.test(url)
        ? 'a token in the query string is accepted only on WebSocket upgrades; send Authorization: Bearer <token>'
        : 'missing bearer token (Authorization: Bearer <gateway token>)';
      refuse(exchange, new AppError('unauthorized', message));
      return;
    }
    let upstream: Upstream | Promise<Upstream>;
    try {
      upstream = authorizer.authorize(token, exchange.socket, scanned.authorization);
    } catch (err) {
      refuse(exchange, err);
      return;
    }
    if (upstream instanceof Promise) {
      upstream.then(
        (u) => {
          if (!exchange.done) forward(exchange, scanned, u);
        },
        (err: unknown) => refuse(exchange, err),
      );
    } else {
      forward(exchange, scanned, upstream);
    }
  };
}
