import type { Exchange } from '@cove/wire';

const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const EXPOSED_HEADERS = 'content-length, content-range, content-type, content-disposition, x-request-id';

/**
 * CORS for browser apps on other origins (web IDEs, dashboards) that call
 * the gateway with `fetch` and an Authorization header. Only origins listed
 * in `allowed` (or `*`) get CORS headers; others get none, so the browser
 * refuses to hand them the answer. No cookies are involved: the token is an
 * explicit header, so credentials mode is never enabled.
 *
 * Returns true when the request was a preflight and has been answered.
 */
export function applyCors(exchange: Exchange, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return false;
  const headers = exchange.request.headers;
  const origin = headers.origin;
  if (origin === undefined) return false;
  if (!allowed.includes('*') && !allowed.includes(origin)) return false;
  exchange.addResponseHeader('access-control-allow-origin', origin);
  exchange.addResponseHeader('vary', 'Origin');
  const requestedMethod = headers['access-control-request-method'];
  if (exchange.request.method === 'OPTIONS' && requestedMethod !== undefined) {
    exchange.respond(
      204,
      {
        'access-control-allow-methods': ALLOWED_METHODS,
        'access-control-allow-headers': headers['access-control-request-headers'] ?? 'authorization, content-type, range',
        'access-control-max-age': '600',
      },
      '',
    );
    return true;
  }
  exchange.addResponseHeader('access-control-expose-headers', EXPOSED_HEADERS);
  return false;
}
