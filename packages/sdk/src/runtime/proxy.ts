import type { RuntimeHttp } from './runtime-http.js';

/**
 * Options of one proxied request: a subset of fetch's `RequestInit`.
 *
 * @example
 * await rt.proxy(3000).fetch('/api/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"ada"}' });
 */
export interface ProxyFetchInit {
  method?: string;
  headers?: RequestInit['headers'];
  /** Text, bytes, a Blob, form data or a stream (streamed to the app as it is read). */
  body?: RequestInit['body'];
  signal?: AbortSignal;
  /** Redirect handling, as fetch's (its default: follow). */
  redirect?: RequestInit['redirect'];
}

/** The header naming the app's port (and host): the official SDK's. */
const TARGET_HEADER = 'X-Oblien-Proxy-Target';

/**
 * One loopback port inside the workspace (a dev server, an API), reached
 * through the runtime's `/proxy`: requests go to `127.0.0.1:<port>` (or the
 * loopback `host` given) with method, path, query, headers and body as they
 * are, and the app's answer comes back as a raw `Response` — status, headers,
 * trailers and streamed body (SSE, downloads) untouched. The runtime token
 * authenticates to the runtime and never reaches the app. Only loopback
 * targets are reachable, and never the Internal API's own port.
 *
 * @example
 * const app = rt.proxy(3000);
 * const users = await (await app.fetch('/api/users?limit=10')).json();
 * const socket = await app.ws('/socket');
 * socket.onmessage = (e) => console.log(e.data);
 */
export class RuntimeProxy {
  readonly #http: RuntimeHttp;
  /** `<port>` or `<host>:<port>`, as the runtime's target header and query parameter take it. */
  readonly target: string;

  constructor(http: RuntimeHttp, port: number, host?: string) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`invalid proxy port: ${port} (must be 1-65535)`);
    this.#http = http;
    this.target = host ? `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}` : String(port);
  }

  /**
   * The URL of a path on the app, through the runtime (`<base>/proxy<path>`),
   * without credentials: the target and token travel in headers.
   *
   * @example
   * rt.proxy(3000).url('/api/users?limit=10'); // 'http://127.0.0.1:9080/proxy/api/users?limit=10'
   */
  url(path = '/'): string {
    return `${this.#http.transport.baseURL}/proxy${path.startsWith('/') ? path : `/${path}`}`;
  }

  /**
   * Sends a request to the app and resolves to its `Response`, whatever its
   * status (an app's 404 is the app's answer). The runtime's own refusals
   * come back the same way, as JSON `{"success":false,"error","code"}`: 401
   * `unauthorized`, 400/403 for a bad or forbidden target, 502
   * `proxy_target_unreachable` when nothing listens on the port.
   *
   * @example
   * const res = await rt.proxy(8080).fetch('/events');
   * for await (const chunk of res.body!) process.stdout.write(chunk);
   */
  async fetch(path: string, init: ProxyFetchInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${await this.#http.token()}`);
    headers.set(TARGET_HEADER, this.target);
    const body = init.body ?? null;
    const request: RequestInit & { duplex?: 'half' } = { method: init.method ?? 'GET', headers, body };
    // fetch streams a ReadableStream body only when told it is half-duplex.
    if (body instanceof ReadableStream) request.duplex = 'half';
    if (init.signal) request.signal = init.signal;
    if (init.redirect) request.redirect = init.redirect;
    return await this.#http.transport.rawFetch(this.url(path), request);
  }

  /**
   * Opens a WebSocket to the app. The token and the target travel as the
   * `token` and `x_oblien_target` query parameters (a browser cannot set
   * headers on a WebSocket); the runtime removes both before the app sees the
   * request. Uses the global `WebSocket` (browsers, Node 22+), else the `ws`
   * package. Resolves as soon as the socket is created (not yet open).
   *
   * @example
   * const socket = await rt.proxy(3000).ws('/socket');
   * socket.binaryType = 'arraybuffer';
   * socket.onopen = () => socket.send('hello');
   */
  async ws(path = '/', protocols?: string | string[]): Promise<WebSocket> {
    const url = new URL(this.url(path).replace(/^http/, 'ws'));
    url.searchParams.set('token', await this.#http.token());
    url.searchParams.set('x_oblien_target', this.target);
    const Native = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
    if (Native) return new Native(url.toString(), protocols);
    const { WebSocket: NodeWebSocket } = (await import('ws')) as unknown as {
      WebSocket: new (url: string, protocols?: string | string[]) => WebSocket;
    };
    return new NodeWebSocket(url.toString(), protocols);
  }
}
