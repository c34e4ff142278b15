import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, bearerToken } from '@cove/protocol';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Authorizer, Upstream } from './authorizer.js';
import { applyCors } from './cors.js';
import { asAppError, sendError } from './error-response.js';
import { downstreamResponseHeaders, pushForwardedHeaders, type ScannedRequest, scanRequestHeaders } from './forward-headers.js';
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
    headers.push('authorization', upstream.authorization);
    pushForwardedHeaders(headers, req, scanned.host);
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
 * A body that arrives whole in one chunk (the usual small JSON answer) goes
 * out with `end(chunk)`: head and body in one write, no separate end.
 */
class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #log: Logger;
  #controller: Dispatcher.DispatchController | undefined;
  #done = false;
  /** The Content-Length announced by the agent and not yet relayed; -1 when unknown (chunked). */
  #remaining = -1;

  constructor(res: ServerResponse, log: Logger) {
    this.#res = res;
    this.#log = log;
    // 'close' fires once per response (finished or cut), so a plain listener needs no once() wrapper.
    res.on('close', this.#onClose);
  }

  readonly #onClose = (): void => {
    if (this.#done) return;
    this.#done = true;
    this.#controller?.abort(new Error('the caller closed the connection'));
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // The caller left while the request waited for a free connection.
    if (this.#done) controller.abort(new Error('the caller closed the connection'));
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
    const length = headers['content-length'];
    // Streams (SSE, NDJSON, chunked downloads) must reach the caller now, not with the first chunk.
    if (length === undefined) res.flushHeaders();
    else this.#remaining = Number(length);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const res = this.#res;
    if (this.#remaining >= 0) {
      this.#remaining -= chunk.length;
      if (this.#remaining === 0) {
        this.#done = true;
        res.end(chunk);
        return;
      }
    }
    if (res.write(chunk)) return;
    controller.pause();
    res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    if (this.#done) return;
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
