import { AbortError, APIError, apiErrorFrom, ConnectionError, TimeoutError } from './errors.js';

/**
 * Options every SDK call takes as its last argument.
 *
 * @example
 * const controller = new AbortController();
 * await rt.exec.run(['sleep', '10'], {}, { signal: controller.signal, timeout: 2_000 });
 */
export interface RequestOptions {
  /** Cancels the request; for streams, ends the stream. */
  signal?: AbortSignal;
  /** Milliseconds before the call fails with `TimeoutError` (streams: until the response starts). */
  timeout?: number;
}

/** A request body: text, bytes, a Blob, form data or a stream. */
export type RequestBody = NonNullable<RequestInit['body']>;

export type QueryValue = string | number | boolean | undefined | null;

export interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, QueryValue>;
  /** A JSON body (serialised) or raw bytes / a stream (sent as they are). */
  json?: unknown;
  body?: RequestBody;
  headers?: Record<string, string>;
}

export interface TransportOptions {
  baseURL: string;
  /** Headers for authentication, asked for on every attempt (tokens may be refreshed). */
  auth: () => Promise<Record<string, string>> | Record<string, string>;
  fetch?: typeof fetch;
  /** Default timeout in milliseconds (60 s). */
  timeout?: number;
  /** Retries of idempotent requests after connection failures and 502/503/504 (2). */
  maxRetries?: number;
}

const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);
const RETRY_STATUSES = new Set([502, 503, 504]);

/**
 * HTTP for the SDK: base URL, auth headers, JSON, timeouts, cancellation,
 * error mapping and safe retries. Works with any `fetch` (Node 20+, browsers).
 */
export class Transport {
  readonly baseURL: string;
  readonly #opts: TransportOptions;
  readonly #fetch: typeof fetch;

  constructor(options: TransportOptions) {
    this.#opts = options;
    this.baseURL = options.baseURL.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Sends a request and parses the JSON answer; throws an `APIError` for error answers. */
  async json<T>(request: Request, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(request, options);
    const text = await res.text();
    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        if (!res.ok) throw apiErrorFrom(res.status, { error: text.slice(0, 500) }, requestId(res));
        throw new APIError(res.status, 'invalid_response', `expected JSON, got: ${text.slice(0, 100)}`, text, requestId(res));
      }
    }
    return body as T;
  }

  /**
   * Sends a request and returns the `Response` once its headers arrived
   * (for streams and downloads). Error answers throw.
   */
  async send(request: Request, options: RequestOptions = {}): Promise<Response> {
    const retries = IDEMPOTENT.has(request.method) && !isStream(request.body) ? (this.#opts.maxRetries ?? 2) : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#once(request, options);
        if (RETRY_STATUSES.has(res.status) && attempt < retries) {
          await res.body?.cancel();
          await backoff(attempt, options.signal);
          continue;
        }
        if (!res.ok) throw await errorFromResponse(res);
        return res;
      } catch (err) {
        if (err instanceof ConnectionError && attempt < retries) {
          await backoff(attempt, options.signal);
          continue;
        }
        throw err;
      }
    }
  }

  /** The absolute URL of a path with its query. */
  url(path: string, query?: Record<string, QueryValue>): string {
    const url = new URL(this.baseURL + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null) continue;
      url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /**
   * One fetch to a full URL with the transport's `fetch`, as it is: no auth,
   * no retry, no error mapping of the answer (`rt.proxy` hands apps' answers
   * back untouched); only a failure to connect becomes `ConnectionError`
   * (`AbortError` when `init.signal` aborted it).
   */
  async rawFetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(url, init);
    } catch (err) {
      if (init.signal?.aborted) throw new AbortError('request aborted', { cause: err });
      throw new ConnectionError(`cannot reach ${this.baseURL}: ${causeMessage(err)}`, { cause: err });
    }
  }

  async authHeaders(): Promise<Record<string, string>> {
    return await this.#opts.auth();
  }

  async #once(request: Request, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { ...(await this.#opts.auth()), ...request.headers };
    let body: RequestBody | undefined = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] = 'application/json';
    }
    const timeout = options.timeout ?? this.#opts.timeout ?? 60_000;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const onAbort = () => controller.abort();
    if (options.signal?.aborted) throw new AbortError('request aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers, signal: controller.signal };
      if (body !== undefined) init.body = body;
      if (isStream(body)) init.duplex = 'half';
      return await this.#fetch(this.url(request.path, request.query), init);
    } catch (err) {
      if (options.signal?.aborted) throw new AbortError('request aborted', { cause: err });
      if (timedOut) throw new TimeoutError(`request timed out after ${timeout} ms`, { cause: err });
      throw new ConnectionError(`cannot reach ${this.baseURL}: ${causeMessage(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
}

async function errorFromResponse(res: Response): Promise<APIError> {
  const text = await res.text().catch(() => '');
  let body: unknown = { error: text.slice(0, 500) || res.statusText };
  try {
    body = JSON.parse(text);
  } catch {}
  return apiErrorFrom(res.status, body, requestId(res));
}

function requestId(res: Response): string | undefined {
  return res.headers.get('x-request-id') ?? undefined;
}

function isStream(body: unknown): boolean {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
}

function causeMessage(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

function backoff(attempt: number, signal: AbortSignal | undefined): Promise<void> {
  const ms = Math.min(2_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new AbortError('request aborted'));
      },
      { once: true },
    );
  });
}
