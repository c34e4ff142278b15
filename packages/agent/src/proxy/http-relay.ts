import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { requestHeadersForApp, responseHeadersForCaller } from './forward-headers.js';
import { targetFailure, writeProxyError } from './proxy-errors.js';
import type { ProxyRoute } from './proxy-request.js';

/**
 * The relay for a `/proxy` request that arrives on a connection the JSON app
 * already serves (see index.ts: such a connection stays with node:http).
 * Relays one HTTP exchange to the app and back, streaming both ways: the
 * request body is piped to the app and the answer to the caller, each with
 * `pipe`'s backpressure (a slow reader pauses the app's socket, a slow app
 * pauses the caller's), so nothing is buffered beyond the sockets' own
 * buffers whatever the size or pace. Trailers pass both ways. Connections
 * to the app are kept alive in `pool`.
 */
export function relayHttp(
  req: IncomingMessage,
  res: ServerResponse,
  route: ProxyRoute,
  requestId: string,
  pool: http.Agent,
  log: Logger,
): void {
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const headers = requestHeadersForApp(req.rawHeaders, requestId, { chunked });
  const bodiless = req.headers['content-length'] === undefined && !chunked;
  let answered = false;

  const send = (retry: boolean): void => {
    const upstream = http.request({
      host: route.target.host,
      port: route.target.port,
      method: req.method,
      path: route.path,
      // A flat [name, value, …] list keeps the caller's order and spelling, repeated headers included.
      headers: headers as unknown as http.OutgoingHttpHeaders,
      agent: pool,
      setHost: false,
    });

    upstream.on('response', (upRes) => {
      answered = true;
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, responseHeadersForCaller(upRes.rawHeaders, requestId));
      // HEAD, 204 and 304 answers have no body; Node knows and discards nothing written to them.
      upRes.pipe(res, { end: false });
      upRes.on('end', () => {
        if (upRes.rawTrailers.length > 0) res.addTrailers(pairs(upRes.rawTrailers));
        res.end();
      });
      upRes.on('error', () => res.destroy());
    });

    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (answered || res.headersSent) {
        // The answer had started: cutting the caller's connection is the only way to say it is incomplete.
        res.destroy();
        return;
      }
      // A kept-alive connection the app closed as the request went out: a bodiless request is safe to send again.
      if (retry && bodiless && upstream.reusedSocket && err.code === 'ECONNRESET') {
        send(false);
        return;
      }
      log.debug({ reqId: requestId, target: route.target.label, code: err.code }, 'proxy target unreachable');
      writeProxyError(res, targetFailure(err.code, route.target.label), requestId);
    });

    // The caller went away before the answer ended: stop the app's side too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });

    if (bodiless) {
      upstream.end();
      return;
    }
    req.pipe(upstream, { end: false });
    req.on('end', () => {
      if (req.rawTrailers.length > 0) upstream.addTrailers(pairs(req.rawTrailers));
      upstream.end();
    });
  };

  send(true);
}

function pairs(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}
