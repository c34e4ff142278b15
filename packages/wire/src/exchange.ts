import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { AppError } from '@cove/protocol';
import type { RequestHead } from './request-head.js';
import type { WriteCoalescer } from './write-coalescer.js';

/** Where a request body goes: the upstream connection relaying it. */
export interface BodySink {
  /** Takes a piece (it may hold it until `flush`); false when full: no more until `resumeBody()`. */
  onChunk(chunk: Buffer): boolean;
  /** Sends what it holds; false when full. */
  flush(): boolean;
  /** The body is complete; `trailers` is its trailer section (flat `[name, value, …]`, usually empty). */
  onEnd(trailers: readonly string[]): void;
}

/** What an exchange needs from the connection it runs on. */
export interface ExchangeOwner {
  readonly socket: Socket;
  /** The connection's writes (one coalescer for all its exchanges, as they answer one after another). */
  readonly out: WriteCoalescer;
  /** The response is complete (or was cut): the connection moves on to the next request or closes. */
  exchangeFinished(exchange: Exchange): void;
  /** Stops or restarts reading the caller's socket for this exchange's body. */
  setBodyPaused(paused: boolean): void;
}

/** A handler's own treatment of a relayed answer (public ports): its headers, and a failure to reach the agent. */
export interface RelayPolicy {
  /** The end-to-end response headers the caller may see (instead of the pool's): a flat list, or `name: value\r\n` lines. */
  responseHeaders(raw: readonly string[]): string[] | string;
  /** Answers a request that could not reach its agent (instead of the pool's JSON error). */
  answerFailure(answer: AppError, cause: Error): void;
}

/** How the response body is framed towards the caller. */
type ResponseMode = 'none' | 'length' | 'chunked' | 'close';

/** Request bytes held while nobody reads them yet (before the agent's connection is ready). */
const BODY_BUFFER_BYTES = 64 * 1024;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const CHUNKED_END = '0\r\n\r\n';
const NO_TRAILERS: readonly string[] = [];
const CRLF = '\r\n';

/**
 * One request and its response on a caller's connection. The connection
 * feeds the request body in; a handler answers locally (`respond`) or relays
 * a response (`writeHead`, `write`, `end`), and the exchange frames it:
 * Content-Length when known, chunked otherwise (close-delimited for HTTP/1.0).
 */
export class Exchange {
  readonly request: RequestHead;
  /** Whether the connection may serve another request after this one. */
  keepAlive: boolean;
  /** How a relayed answer is treated when not as the pool does it for the data plane; set before relaying. */
  relay: RelayPolicy | undefined = undefined;
  readonly #owner: ExchangeOwner;
  readonly #socket: Socket;
  /** Response bytes of the current relay step, written together by `flush()`. */
  readonly #out: WriteCoalescer;
  #finished = false;
  #aborted = false;
  #onAbort: (() => void) | undefined;

  #requestComplete = false;
  #requestTrailers: readonly string[] = NO_TRAILERS;
  #sink: BodySink | undefined;
  #sinkFull = false;
  /** Body pieces that came before the sink could take them (allocated when the first one does). */
  #buffered: Buffer[] | undefined;
  #bufferedBytes = 0;
  #continueSent = false;
  /** The sink has been told the body is complete. */
  #bodyEnded = false;

  #headSent = false;
  #mode: ResponseMode = 'none';
  #extraHeaders = '';

  constructor(request: RequestHead, owner: ExchangeOwner, keepAlive: boolean) {
    this.request = request;
    this.#owner = owner;
    this.#socket = owner.socket;
    this.#out = owner.out;
    this.keepAlive = keepAlive;
    // Every answer of this exchange, local or relayed, carries the request's id (the agent's own copy is dropped).
    this.#extraHeaders = `x-request-id: ${request.requestId}${CRLF}`;
  }

  /** The caller's connection (public ports track it, to cut it on revocation). */
  get socket(): Socket {
    return this.#socket;
  }

  get headSent(): boolean {
    return this.#headSent;
  }

  /** The response ended, was cut, or the caller left: nothing more is written. */
  get done(): boolean {
    return this.#finished || this.#aborted;
  }

  get requestComplete(): boolean {
    return this.#requestComplete;
  }

  // ── Request body ────────────────────────────────────────────────────────

  /** Starts delivering the request body to `sink` (what was buffered first). */
  readBody(sink: BodySink): void {
    this.#sink = sink;
    if (this.request.expectContinue && !this.#requestComplete && !this.#continueSent && !this.#headSent) {
      this.#continueSent = true;
      this.#socket.write(CONTINUE, 'latin1');
    }
    this.#drainBuffer();
    this.flushBody();
  }

  /** The connection read what there was to read for now: the sink sends what it holds. */
  flushBody(): void {
    const sink = this.#sink;
    if (sink === undefined || this.#bodyEnded || this.done) return;
    if (!sink.flush() && !this.#sinkFull) {
      this.#sinkFull = true;
      this.#owner.setBodyPaused(true);
    }
  }

  /** The sink has room again. */
  resumeBody(): void {
    this.#sinkFull = false;
    this.#drainBuffer();
    this.flushBody();
    if (!this.#sinkFull && this.#bufferedBytes < BODY_BUFFER_BYTES) this.#owner.setBodyPaused(false);
  }

  /** Called by the connection for each body piece it parses. */
  receiveBody(chunk: Buffer): void {
    if (this.done) return; // answered already (a refusal): the rest of the body is dropped
    const sink = this.#sink;
    if (sink !== undefined && !this.#sinkFull && this.#nothingBuffered()) {
      if (!sink.onChunk(chunk)) {
        this.#sinkFull = true;
        this.#owner.setBodyPaused(true);
      }
      return;
    }
    if (this.#buffered === undefined) this.#buffered = [chunk];
    else this.#buffered.push(chunk);
    this.#bufferedBytes += chunk.length;
    if (this.#bufferedBytes >= BODY_BUFFER_BYTES) this.#owner.setBodyPaused(true);
  }

  /** Called by the connection when the request's last byte is parsed, with the body's trailers. */
  receiveEnd(trailers: readonly string[] = NO_TRAILERS): void {
    this.#requestComplete = true;
    this.#requestTrailers = trailers;
    if (this.#nothingBuffered()) this.#endBody();
  }

  #nothingBuffered(): boolean {
    return this.#buffered === undefined || this.#buffered.length === 0;
  }

  #endBody(): void {
    if (this.#sink === undefined || this.#bodyEnded || this.done) return;
    this.#bodyEnded = true;
    this.#sink.onEnd(this.#requestTrailers);
  }

  #drainBuffer(): void {
    const sink = this.#sink;
    if (sink === undefined) return;
    const buffered = this.#buffered;
    while (buffered !== undefined && buffered.length > 0 && !this.#sinkFull && !this.done) {
      const chunk = buffered.shift() as Buffer;
      this.#bufferedBytes -= chunk.length;
      if (!sink.onChunk(chunk)) this.#sinkFull = true;
    }
    if (this.#sinkFull) {
      this.#owner.setBodyPaused(true);
      return;
    }
    if (this.#requestComplete && this.#nothingBuffered()) this.#endBody();
  }

  // ── Response ────────────────────────────────────────────────────────────

  /** A header added to whatever response this exchange sends (CORS). */
  addResponseHeader(name: string, value: string): void {
    this.#extraHeaders += `${name}: ${value}${CRLF}`;
  }

  /** A complete local answer (health, errors, preflight). */
  respond(status: number, headers: Readonly<Record<string, string>>, body: string | Buffer): void {
    if (this.done) return;
    if (this.#headSent) {
      this.destroy();
      return;
    }
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const flat: string[] = [];
    for (const name in headers) flat.push(name, headers[name] as string);
    // 204 and 304 carry no body and no length.
    if (status !== 204 && status !== 304) flat.push('content-length', String(bytes.length));
    this.writeHead(status, STATUS_CODES[status] ?? '', flat, bytes.length, this.request.method === 'HEAD' || bytes.length === 0);
    if (this.#mode !== 'none') this.#out.bytes(bytes);
    this.end();
  }

  /**
   * Sends the status line and headers. `headers` are end-to-end headers only
   * (the caller of this method has removed hop-by-hop ones), a flat list or
   * already as `name: value\r\n` lines; framing and Connection are the
   * exchange's own. `length` is the body's Content-Length when known (already
   * among `headers`); `noBody` for HEAD, 204 and 304.
   */
  writeHead(status: number, message: string, headers: readonly string[] | string, length: number | undefined, noBody: boolean): void {
    if (this.done || this.#headSent) return;
    this.#headSent = true;
    // An answer that goes out before the request is read whole ends the connection (see `exchangeFinished`): say so.
    if (!this.#requestComplete) this.keepAlive = false;
    const lines = typeof headers === 'string' ? headers : headerLines(headers);
    let head = `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}${CRLF}${lines}`;
    head += this.#extraHeaders;
    if (noBody) this.#mode = 'none';
    else if (length !== undefined) this.#mode = 'length';
    else if (this.request.versionMinor >= 1) {
      this.#mode = 'chunked';
      head += `transfer-encoding: chunked${CRLF}`;
    } else {
      this.#mode = 'close';
      this.keepAlive = false;
    }
    if (!this.keepAlive) head += `connection: close${CRLF}`;
    else if (this.request.versionMinor === 0) head += `connection: keep-alive${CRLF}`;
    this.#out.text(head + CRLF);
  }

  /**
   * Adds a body piece; false when the caller's socket is full (wait for
   * `onDrain`). `borrowed`: the bytes are valid only during the call (see
   * `WriteCoalescer.bytes`).
   */
  write(chunk: Buffer, borrowed = false): boolean {
    if (this.done || chunk.length === 0) return true;
    switch (this.#mode) {
      case 'none':
        return true;
      case 'chunked': {
        this.#out.text(`${chunk.length.toString(16)}${CRLF}`);
        const room = this.#out.bytes(chunk, borrowed);
        this.#out.text(CRLF);
        return room;
      }
      default:
        return this.#out.bytes(chunk, borrowed);
    }
  }

  /** Writes what the current relay step produced; false when the caller's socket is full (wait for `onDrain`). */
  flush(): boolean {
    return this.#out.flush();
  }

  /** Calls `fn` once the caller's socket has room again. */
  onDrain(fn: () => void): void {
    this.#out.onDrain(fn);
  }

  /** The response is complete; `trailers` (flat `[name, value, …]`) go out when the body is chunked. */
  end(trailers: readonly string[] = NO_TRAILERS): void {
    if (this.done) return;
    this.#finished = true;
    if (this.#mode === 'chunked') this.#out.text(trailers.length === 0 ? CHUNKED_END : `0${CRLF}${headerLines(trailers)}${CRLF}`);
    this.#out.flush();
    this.#buffered = undefined;
    this.#bufferedBytes = 0;
    this.#owner.exchangeFinished(this);
  }

  /** The response broke off after its head: cutting the connection is the only way to tell the caller. */
  destroy(): void {
    if (this.done) return;
    this.#finished = true;
    this.#out.discard();
    this.#socket.destroy();
  }

  /** Runs `fn` if the caller goes away before the response is complete. */
  onAbort(fn: () => void): void {
    this.#onAbort = fn;
  }

  /** Called by the connection when the caller's socket closes. */
  abort(): void {
    if (this.done) return;
    this.#aborted = true;
    this.#buffered = undefined;
    this.#bufferedBytes = 0;
    const fn = this.#onAbort;
    this.#onAbort = undefined;
    fn?.();
  }
}

/** `name: value` lines of a flat `[name, value, …]` list. */
export function headerLines(raw: readonly string[]): string {
  let text = '';
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i] as string}: ${raw[i + 1] as string}${CRLF}`;
  return text;
}
