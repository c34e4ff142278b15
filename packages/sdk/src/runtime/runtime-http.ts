import { AuthenticationError } from '../core/errors.js';
import { type Request, type RequestOptions, Transport } from '../core/transport.js';

/**
 * Supplies runtime tokens: the current one, and a fresh one after a 401.
 *
 * @example
 * new Runtime({ baseURL, tokens: { get: () => jwt, refresh: async () => (jwt = await mintJwt()) } });
 */
export interface TokenSource {
  /** The token to use now. */
  get(): Promise<string> | string;
  /** A fresh token after the old one was refused (gateway JWT expired or rotated). */
  refresh?(): Promise<string>;
}

/**
 * Where a runtime is and how to authenticate to it.
 *
 * @example
 * new Runtime({ baseURL: 'http://127.0.0.1:9080', token: gatewayJwt });
 */
export interface RuntimeOptions {
  /** The gateway (`https://gateway.example.com`) or a direct agent (`http://10.0.1.42:9990`). */
  baseURL?: string;
  /** Alias of `baseURL` (the official SDK's spelling). */
  baseUrl?: string;
  /** A gateway JWT, or an agent's raw token for direct connections. */
  token?: string;
  /** Instead of `token`: where tokens come from (refreshed once after a 401). */
  tokens?: TokenSource;
  /** A custom fetch (tests, proxies). */
  fetch?: typeof fetch;
  /** Default per-request timeout in milliseconds (60 s). */
  timeout?: number;
  /** Retries of idempotent requests after connection failures (2). */
  maxRetries?: number;
}

/** The runtime's HTTP: bearer auth with refresh-once-on-401. */
export class RuntimeHttp {
  readonly transport: Transport;
  readonly #tokens: TokenSource;

  constructor(options: RuntimeOptions) {
    const baseURL = options.baseURL ?? options.baseUrl;
    if (!baseURL) throw new TypeError('Runtime needs a baseURL (the gateway, or http://<ip>:9990 for a direct connection)');
    const tokens = options.tokens ?? (options.token ? { get: () => options.token as string } : undefined);
    if (!tokens) throw new TypeError('Runtime needs a token (gateway JWT or raw agent token)');
    this.#tokens = tokens;
    this.transport = new Transport({
      baseURL,
      auth: async () => ({ authorization: `Bearer ${await tokens.get()}` }),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
    });
  }

  async token(): Promise<string> {
    return await this.#tokens.get();
  }

  json<T>(request: Request, options?: RequestOptions): Promise<T> {
    return this.#withRefresh(() => this.transport.json<T>(request, options));
  }

  send(request: Request, options?: RequestOptions): Promise<Response> {
    return this.#withRefresh(() => this.transport.send(request, options));
  }

  /** After a 401, asks the token source for a fresh token once and retries. */
  async refreshToken(): Promise<string | undefined> {
    return this.#tokens.refresh ? await this.#tokens.refresh() : undefined;
  }

  async #withRefresh<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AuthenticationError && this.#tokens.refresh) {
        await this.#tokens.refresh();
        return await fn();
      }
      throw err;
    }
  }
}
