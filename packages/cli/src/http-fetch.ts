import http, { type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/**
 * The `fetch` the CLI gives the SDK: node:http underneath. Node 20's own
 * fetch (undici) is loaded and compiled on first use, which costs a `cove`
 * run more than everything else it does (a cold fetch of `/health` took
 * ~200 ms where node:http took ~10 ms, on this machine under load); node:http
 * is part of Node's start-up snapshot. It covers what the SDK uses: a method,
 * headers, a body of text, bytes or a web stream, an AbortSignal; and a
 * response's `status`, `ok`, `statusText`, `headers.get`, `body` (a web
 * stream), `text()`, `json()` and `arrayBuffer()`. No redirects, no
 * decompression (the SDK asks for neither). Connections are kept alive for
 * the run (one per server): the process exits once its command is done.
 */
export const httpFetch = ((input: string | URL, init: RequestInit = {}) => request(new URL(String(input)), init)) as typeof fetch;

const agents = new Map<string, http.Agent>();

async function agentFor(url: URL): Promise<{ client: typeof http; agent: http.Agent }> {
  // https only when a server is reached through TLS: its module is not loaded otherwise.
  const client = url.protocol === 'https:' ? ((await import('node:https')).default as unknown as typeof http) : http;
  let agent = agents.get(url.protocol);
  if (!agent) {
    agent = new client.Agent({ keepAlive: true });
    agents.set(url.protocol, agent);
  }
  return { client, agent };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}

async function request(url: URL, init: RequestInit): Promise<Response> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`unsupported URL ${url.protocol}`);
  const signal = init.signal ?? undefined;
  if (signal?.aborted) throw abortError(signal);
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  const body = init.body ?? undefined;
  let bytes: Buffer | undefined;
  let stream: Readable | undefined;
  if (typeof body === 'string') bytes = Buffer.from(body);
  else if (body instanceof Uint8Array) bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else if (body instanceof ArrayBuffer) bytes = Buffer.from(body);
  else if (body !== undefined && typeof (body as ReadableStream).getReader === 'function') {
    stream = Readable.fromWeb(body as import('node:stream/web').ReadableStream);
  } else if (body !== undefined) throw new TypeError('unsupported request body (text, bytes or a ReadableStream)');
  if (bytes) headers['content-length'] = String(bytes.byteLength);

  const { client, agent } = await agentFor(url);
  return new Promise<Response>((resolve, reject) => {
    const req = client.request(url, { method: init.method ?? 'GET', headers, agent });
    const onAbort = () => {
      const err = abortError(signal as AbortSignal);
      req.destroy(err);
      reject(err);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      // As fetch reports it: a TypeError whose cause says what failed (ECONNREFUSED, …).
      reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: err }));
    });
    req.on('response', (res) => {
      signal?.removeEventListener('abort', onAbort);
      // An abort while the body is read ends the body with the abort's error.
      if (signal) {
        const onBodyAbort = () => res.destroy(abortError(signal));
        signal.addEventListener('abort', onBodyAbort, { once: true });
        res.once('close', () => signal.removeEventListener('abort', onBodyAbort));
      }
      resolve(new HttpResponse(res) as unknown as Response);
    });
    if (stream) {
      stream.on('error', (err) => req.destroy(err));
      stream.pipe(req);
    } else req.end(bytes);
  });
}

/** The part of `Response` the SDK reads. */
class HttpResponse {
  readonly #res: IncomingMessage;
  #body: ReadableStream<Uint8Array> | undefined;
  readonly headers: { get(name: string): string | null };

  constructor(res: IncomingMessage) {
    this.#res = res;
    this.headers = {
      get: (name) => {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    };
  }

  get status(): number {
    return this.#res.statusCode ?? 0;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get statusText(): string {
    return this.#res.statusMessage ?? '';
  }

  /** A web stream of the body; cancelling it closes the connection (as fetch does). */
  get body(): ReadableStream<Uint8Array> {
    this.#body ??= Readable.toWeb(this.#res) as unknown as ReadableStream<Uint8Array>;
    return this.#body;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.#res) chunks.push(chunk as Buffer);
    const all = Buffer.concat(chunks);
    return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return Buffer.from(await this.arrayBuffer()).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}
