import type { IncomingMessage, ServerResponse } from 'node:http';

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
export function applyCors(req: IncomingMessage, res: ServerResponse, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || allowed.length === 0) return false;
  if (!allowed.includes('*') && !allowed.includes(origin)) return false;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('vary', 'Origin');
  const requestedMethod = req.headers['access-control-request-method'];
  if (req.method === 'OPTIONS' && requestedMethod !== undefined) {
    const requestedHeaders = req.headers['access-control-request-headers'];
    res.writeHead(204, {
      'access-control-allow-methods': ALLOWED_METHODS,
      'access-control-allow-headers': requestedHeaders ?? 'authorization, content-type, range',
      'access-control-max-age': '600',
      'content-length': '0',
    });
    res.end();
    return true;
  }
  res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
  return false;
}
