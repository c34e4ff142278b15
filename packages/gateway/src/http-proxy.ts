import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, bearerToken } from '@cove/protocol';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Authorizer, Upstream } from './authorizer.js';
import { applyCors } from './cors.js';
import { asAppError, sendError } from './error-response.js';
import { downstreamResponseHeaders, forwardedHeaders, type ScannedRequest, scanRequestHeaders } from './forward-headers.js';
import { upstreamError } from './upstream-errors.js';
import type { UpstreamPools } from './upstream-pools.js';

const HEALTH_BODY = Buffer.from('{"status":"ok"}');
const QUERY_TOKEN = /[?&](?:token|access_token)=/;

export interface HttpProxyDeps {
  authorizer: Authorizer;
  pools: UpstreamPools;
  log: Logger;
  /** Browser origins allowed to call the gateway (CORS); empty for none. */
  allowedOrigins: readonly string[];
}

/** The gateway's `request` handler: health, authentication, then a streamed relay to the agent. */
export function httpProxy(deps: HttpProxyDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { authorizer, pools, log, allowedOrigins } = deps;

  const forward = (req: IncomingMessage, res: ServerResponse, scanned: ScannedRequest, upstream: Upstream): void => {
    const headers = scanned.forward;
    headers.push('authorization', upstream.authorization, ...forwardedHeaders(req, scanned.host));
    const relay = new ResponseRelay(res, log);
    try {
      pools.get(upstream.origin).dispatch(
        {
          path: req.url ?? '/',
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers,
          // The caller's body is streamed as it arrives; undici stops reading it while the agent is slow.
          body: scanned.hasBody ? req : null,
        },
        relay,
      );
    } catch (err) {
      sendError(res, upstreamError(err));
    }
  };

  const refuse = (res: ServerResponse, scanned: ScannedRequest, err: unknown): void => {
    const error = asAppError(err);
    if (error.code === 'internal_error') log.error({ err }, 'authorization failed');
    // A refused request's body is not read; closing spares reading an upload nobody wants.
    if (scanned.hasBody) res.shouldKeepAlive = false;
    sendError(res, error);
  };

  return (req, res) => {
    if (applyCors(req, res, allowedOrigins)) return;
    const url = req.url ?? '/';
    if ((url === '/health' || url.startsWith('/health?')) && (req.method === 'GET' || req.method === 'HEAD')) {
      // No authentication: the official SDK sends its Bearer here, and load balancers send none.
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': HEALTH_BODY.length });
      res.end(HEALTH_BODY);
      return;
    }
    const scanned = scanRequestHeaders(req.rawHeaders);
    const token = bearerToken(scanned.authorization);
    if (token === undefined) {
      // A URL ends up in logs and browser history: only WebSocket upgrades, which cannot send headers, may carry one.
      const message = QUERY_TOKEN.test(url)
        ? 'a token in the query string is accepted only on WebSocket upgrades; send Authorization: Bearer <token>'
        : 'missing bearer token (Authorization: Bearer <gateway token>)';
      refuse(res, scanned, new AppError('unauthorized', message));
      return;
    }
    let upstream: Upstream | Promise<Upstream>;
    try {
      upstream = authorizer.authorize(token);
    } catch (err) {
      refuse(res, scanned, err);
      return;
    }
    if (upstream instanceof Promise) {
      upstream.then(
        (u) => forward(req, res, scanned, u),
        (err: unknown) => refuse(res, scanned, err),
      );
    } else {
      forward(req, res, scanned, upstream);
    }
  };
}

/**
 * Relays one upstream response to the caller as it arrives: status and
 * cleaned headers at once (flushed right away for streams), each chunk
 * written through with backpressure (the agent's socket is paused while the
 * caller's is full), and the upstream request aborted if the caller leaves.
 */
class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #log: Logger;
  #done = false;

  constructor(res: ServerResponse, log: Logger) {
    this.#res = res;
    this.#log = log;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#res.once('close', () => {
      if (!this.#done) {
        this.#done = true;
        controller.abort(new Error('the caller closed the connection'));
      }
    });
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx interim answers concern the agent's connection only
    const res = this.#res;
    if (res.destroyed) {
      controller.abort(new Error('the caller closed the connection'));
      return;
    }
    res.writeHead(statusCode, downstreamResponseHeaders(headers));
    // Streams (SSE, NDJSON, chunked downloads) must reach the caller now, not with the first chunk.
    if (headers['content-length'] === undefined) res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#res.write(chunk)) return;
    controller.pause();
    this.#res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    this.#done = true;
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#done) return;
    this.#done = true;
    const res = this.#res;
    if (res.destroyed) return;
    if (res.headersSent) {
      // The status is out already: cutting the connection is the only way to say the body is incomplete.
      this.#log.debug({ err: { message: err.message } }, 'upstream response broke off');
      res.destroy();
      return;
    }
    const error = upstreamError(err);
    this.#log.warn({ code: error.code, cause: (err as { code?: string }).code ?? err.message }, 'upstream request failed');
    sendError(res, error);
  }
}
