import { AppError, bearerToken, redactUrl } from '@cove/protocol';
import { answerError, type Exchange, isName, UpstreamPools, type UpstreamTarget } from '@cove/wire';
import type { Logger } from 'pino';
import type { TokenStore } from '../auth/token-store.js';
import { appResponseHeaders, requestHeaderLinesForApp } from './forward-headers.js';
import { targetFailure } from './proxy-errors.js';
import { type ProxyRoute, resolveProxyRoute, TARGET_HEADER } from './proxy-request.js';
import { type ForbiddenPorts, type ProxyTarget, parseProxyTarget } from './proxy-target.js';

/** A pool's key and address, with the target as the caller wrote it (for error messages). */
interface AppTarget extends UpstreamTarget, ProxyTarget {}

export interface WireRelayOptions {
  tokens: TokenStore;
  log: Logger;
  forbidden: ForbiddenPorts;
}

/** An `Authorization` value that verified on a connection, and the token's generation then. */
interface Verified {
  value: string;
  generation: number;
}

/** Targets remembered (one object per spelling, so a request allocates none); the map is emptied past this. */
const MAX_TARGETS = 1024;
const passTrailers = (raw: readonly string[]): readonly string[] => raw;

/**
 * Answers a request the proxy refuses. The head is being parsed when this
 * runs; a bodiless request is complete as soon as that returns, so its answer
 * waits that long and the connection stays open (as on node:http). A request
 * with a body is answered at once and its connection closes: an unread body
 * cannot be skipped safely.
 */
function refuse(exchange: Exchange, error: AppError): void {
  if (exchange.request.hasBody) answerError(exchange, error);
  else queueMicrotask(() => answerError(exchange, error));
}

/**
 * `/proxy` on the wire (`@cove/wire`, llhttp on raw sockets, as in the
 * gateway): authenticates, resolves the target and hands the exchange to a
 * keep-alive pool of connections to the app, which streams both ways with
 * backpressure. Framing is the wire's on each side (Content-Length kept,
 * chunked re-chunked, trailers relayed both ways); every answer carries the
 * request's id.
 */
export class WireRelay {
  readonly #opts: WireRelayOptions;
  readonly #pools: UpstreamPools;
  readonly #targets = new Map<string, AppTarget>();
  /** Targets by their spelling in the request (the header's value, mostly), once parsed and allowed. */
  readonly #parsed = new Map<string, AppTarget>();
  /** Parses a target, or finds it parsed already (refused ones are not remembered: they throw each time). */
  readonly #parse = (raw: string, forbidden: ForbiddenPorts): ProxyTarget => {
    let known = this.#parsed.get(raw);
    if (known === undefined) {
      known = this.#target(parseProxyTarget(raw, forbidden));
      if (this.#parsed.size >= MAX_TARGETS) this.#parsed.clear();
      this.#parsed.set(raw, known);
    }
    return known;
  };
  /** Per caller connection, the last `Authorization` value that verified there (see `#authorized`). */
  readonly #verified = new WeakMap<object, Verified>();

  constructor(options: WireRelayOptions) {
    this.#opts = options;
    const { log } = options;
    this.#pools = new UpstreamPools({
      // Loopback connects at once or is refused; once connected, an app may take as long as it likes to answer.
      connectMs: 10_000,
      headersMs: Number.POSITIVE_INFINITY,
      responseHeaders: (raw) => appResponseHeaders(raw),
      requestTrailers: passTrailers,
      responseTrailers: passTrailers,
      upstreamError: (err, target) => targetFailure((err as NodeJS.ErrnoException).code, (target as AppTarget).label),
      onFailure: (error, cause, reqId) =>
        log.debug({ reqId, code: (cause as NodeJS.ErrnoException).code, error: error.message }, 'proxy target unreachable'),
    });
  }

  /** Answers or relays one request; `remainder` is its target after the `/proxy` prefix. */
  handle(exchange: Exchange, remainder: string): void {
    const req = exchange.request;
    let authorization: string | undefined;
    let target: string | string[] | undefined;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      // Only names of these lengths can matter: skips the lower-casing of most headers.
      if (name.length === 13 && authorization === undefined && isName(name, 'authorization')) {
        authorization = raw[i + 1] as string;
      } else if (name.length === TARGET_HEADER.length && isName(name, TARGET_HEADER)) {
        const value = raw[i + 1] as string;
        target = target === undefined ? value : [...(typeof target === 'string' ? [target] : target), value];
      }
    }
    // Only the header authenticates plain HTTP, as everywhere on the agent: a token in a URL leaks into logs and histories.
    if (!this.#authorized(exchange, authorization)) {
      refuse(exchange, new AppError('unauthorized', 'missing or invalid token'));
      return;
    }
    let route: ProxyRoute;
    try {
      route = resolveProxyRoute(remainder, target, this.#opts.forbidden, this.#parse);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      refuse(exchange, err);
      return;
    }
    const { log } = this.#opts;
    if (log.isLevelEnabled('debug')) {
      log.debug({ method: req.method, url: redactUrl(req.url), reqId: req.requestId, target: route.target.label }, 'proxy request');
    }
    // The connection to the app frames the body itself (Content-Length or chunked), so no framing header is sent here.
    const head = `${req.method} ${route.path} HTTP/1.1\r\n${requestHeaderLinesForApp(raw, req.requestId)}`;
    // `#parse` made the target an AppTarget.
    this.#pools.forward(route.target as AppTarget, exchange, head);
  }

  /**
   * Whether the request's `Authorization` carries the agent's token. The
   * check (a SHA-256 of the presented token, compared in constant time) is
   * a fair share of a relayed request's cost, and a kept-alive caller sends
   * the same value on every request: a value that verified on this
   * connection is remembered there until the token changes. Comparing with
   * it reveals nothing: it is what this caller itself sent and had accepted.
   */
  #authorized(exchange: Exchange, authorization: string | undefined): boolean {
    if (authorization === undefined) return false;
    const { tokens } = this.#opts;
    const known = this.#verified.get(exchange.socket);
    if (known !== undefined && known.value === authorization && known.generation === tokens.generation) return true;
    const generation = tokens.generation;
    if (!tokens.verify(bearerToken(authorization))) return false;
    if (known === undefined) this.#verified.set(exchange.socket, { value: authorization, generation });
    else {
      known.value = authorization;
      known.generation = generation;
    }
    return true;
  }

  /** Cuts pooled and in-flight connections to apps. */
  close(): void {
    this.#pools.close();
  }

  #target(target: ProxyTarget): AppTarget {
    const key = `${target.host}|${target.port}|${target.label}`;
    let known = this.#targets.get(key);
    if (known === undefined) {
      if (this.#targets.size >= MAX_TARGETS) this.#targets.clear();
      known = { origin: key, ip: target.host, host: target.host, port: target.port, label: target.label };
      this.#targets.set(key, known);
    }
    return known;
  }
}
