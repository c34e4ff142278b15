import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type BodySink, type Exchange, headerLines } from './exchange.js';
import { isName } from './header-names.js';
import { type HeadAction, isParseFailure, type MessageHead, MessageParser, NO_BODY, READ_BODY, STOP } from './llhttp.js';
import { WriteCoalescer } from './write-coalescer.js';

/** What a connection needs from the pool that owns it. */
export interface ConnectionPool {
  readonly connectMs: number;
  readonly headersMs: number;
  /** The end-to-end response headers the caller may see (the gateway's header policy). */
  responseHeaders(raw: readonly string[]): string[] | string;
  /** The trailers relayed with a chunked body each way; without these, trailers are dropped. */
  readonly requestTrailers: ((raw: readonly string[]) => readonly string[]) | undefined;
  readonly responseTrailers: ((raw: readonly string[]) => readonly string[]) | undefined;
  /** The response is complete and the connection can carry another request. */
  release(connection: UpstreamConnection, idleMs: number): void;
  /** The connection closed or broke. */
  discard(connection: UpstreamConnection): void;
  /**
   * The request failed before any answer. `retryable` when it went out on a
   * reused connection that the agent had closed meanwhile and carried no body.
   */
  failed(exchange: Exchange, head: string, error: Error, retryable: boolean): void;
}

/** Where every agent connection reads into (see `onread` below). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** How long a connection stays in the pool when the agent does not say (ms). */
const DEFAULT_IDLE_MS = 30_000;
/** Idle time before TCP keepalive probes start (ms). */
const KEEPALIVE_MS = 10_000;
const CRLF = '\r\n';
const NO_TRAILERS: readonly string[] = [];

/**
 * One keep-alive TCP connection to an agent, carrying one request at a
 * time: writes the request head and body (re-framed: Content-Length kept,
 * chunked re-encoded), parses the answer with llhttp and relays it to the
 * caller's exchange with backpressure both ways.
 */
export class UpstreamConnection {
  readonly socket: Socket;
  readonly #pool: ConnectionPool;
  readonly #parser: MessageParser;
  /** The request head and body pieces of one relay step, written together. */
  readonly #out: WriteCoalescer;
  /** Reading from the agent is paused until the caller's socket drains. */
  #paused = false;
  #exchange: Exchange | undefined;
  #head = '';
  #requestSent = false;
  #answered = false;
  #status = 0;
  /**
   * Body bytes still to come of an answer with a Content-Length, else 0:
   * such a body is counted here rather than parsed (see `#onHead`).
   */
  #bodyLeft = 0;
  #keepAlive = true;
  #idleMs = DEFAULT_IDLE_MS;
  /** The current request went out on a connection that had served others (the agent may have closed it meanwhile). */
  #reused = false;
  #cause: Error | undefined;
  /** Cuts a connection that does not connect in time (new connections only). */
  #connectTimer: NodeJS.Timeout | undefined;
  /** When the agent must have answered with a head (ms, performance.now()); checked by the pool's sweep. */
  #headersDeadline = Number.POSITIVE_INFINITY;
  /** When the pool may hand this connection out no more (ms, performance.now()). */
  expiresAt = 0;
  /** Carrying a request (the pool's count of busy connections follows this). */
  busy = false;

  constructor(pool: ConnectionPool, ip: string, port: number) {
    this.#pool = pool;
    this.#parser = new MessageParser('response', {
      onHead: (head) => this.#onHead(head),
      onBody: (chunk) => this.#onBody(chunk),
      onComplete: (trailers) => this.#onComplete(trailers),
    });
    // `onread`: answers are read into one shared buffer and handed straight to the parser (which copies what
    // it keeps), skipping a buffer allocation and a stream event per read. All reads are synchronous with
    // their parsing, so one buffer serves every connection.
    const socket = net.connect({
      host: ip,
      port,
      noDelay: true,
      // A backstop for an agent that vanished without a FIN or RST: the kernel's probes of an idle connection
      // get a reset from whatever now holds the address (the agent's restarted container) and end it.
      keepAlive: true,
      keepAliveInitialDelay: KEEPALIVE_MS,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array): boolean => {
          this.#onData(buffer as Buffer, bytes);
          return true; // backpressure pauses the socket explicitly (#pauseUntilDrained)
        },
      },
    });
    this.socket = socket;
    this.#out = new WriteCoalescer(socket);
    this.#connectTimer = setTimeout(() => this.#timeout('connect'), pool.connectMs);
    socket.once('connect', () => {
      this.#clearConnectTimer();
      if (this.#exchange !== undefined && !this.#answered) this.#armHeadersDeadline(performance.now());
    });
    socket.on('end', this.#onEnd);
    socket.on('error', (err) => {
      this.#cause ??= err;
    });
    socket.once('close', this.#onClose);
  }

  /**
   * Sends one request. `head` is the request line and end-to-end headers;
   * framing is added here. `now`: the pool's clock reading for this request.
   */
  send(exchange: Exchange, head: string, reused: boolean, now: number): void {
    this.#reused = reused;
    this.#exchange = exchange;
    this.#head = head;
    this.#answered = false;
    this.#status = 0;
    this.#cause = undefined;
    exchange.onAbort(this.#abandon);
    const framing = exchange.request.bodyFraming;
    let framed = head;
    if (framing === 'chunked') framed += `transfer-encoding: chunked${CRLF}`;
    else if (framing !== undefined) framed += `content-length: ${framing}${CRLF}`;
    this.#out.text(`${framed}${CRLF}`);
    if (!this.socket.connecting) this.#armHeadersDeadline(now);
    if (!exchange.request.hasBody) {
      this.#requestSent = true;
      this.#out.flush();
      return;
    }
    this.#requestSent = false;
    // readBody sends the head with whatever body has arrived so far.
    exchange.readBody(this.#bodySink(exchange, framing === 'chunked'));
  }

  /** Relays the request body, re-framed: pieces as they are under a Content-Length, or re-chunked. */
  #bodySink(exchange: Exchange, chunked: boolean): BodySink {
    const out = this.#out;
    const relayTrailers = this.#pool.requestTrailers;
    const full = (): false => {
      out.onDrain(() => exchange.resumeBody());
      return false;
    };
    return {
      onChunk: (chunk) => {
        if (chunked) out.text(`${chunk.length.toString(16)}${CRLF}`);
        const room = out.bytes(chunk);
        if (chunked) out.text(CRLF);
        return room || full();
      },
      flush: () => out.flush() || full(),
      onEnd: (trailers) => {
        if (chunked) out.text(`0${CRLF}${trailers.length > 0 && relayTrailers ? headerLines(relayTrailers(trailers)) : ''}${CRLF}`);
        out.flush();
        this.#requestSent = true;
      },
    };
  }

  #onData(buffer: Buffer, bytes: number): void {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      // Nothing was asked: an agent talking out of turn is not trusted with the next request.
      this.socket.destroy();
      return;
    }
    let data = buffer.subarray(0, bytes);
    let offset = 0;
    if (this.#bodyLeft > 0) offset = this.#countBody(exchange, data, 0);
    if (offset < bytes) {
      if (this.#exchange !== exchange) {
        // Bytes after a complete answer, before anything else was asked: not trusted either.
        this.socket.destroy();
        return;
      }
      if (offset > 0) data = data.subarray(offset);
      const result = this.#parser.execute(data);
      if (isParseFailure(result)) {
        this.#cause = Object.assign(new Error(`invalid answer from the agent (${result.code})`), { code: 'UPSTREAM_PROTOCOL' });
        this.socket.destroy();
        return;
      }
      if (result < data.length) {
        // llhttp stopped after a head whose body is counted here: the rest of the read is that body, then nothing.
        if (this.#bodyLeft === 0 || this.#countBody(exchange, data, result) < data.length) {
          this.socket.destroy();
          return;
        }
      }
    }
    // What this read produced goes to the caller in one write (a whole small answer: head, body and end).
    if (this.#exchange === exchange && !exchange.flush()) this.#pauseUntilDrained(exchange);
  }

  /**
   * Relays the bytes of a counted body found in `data` from `start` (the
   * read buffer's: borrowed, copied if kept), and ends the answer with its
   * last byte. Returns where the body ends in `data`.
   */
  #countBody(exchange: Exchange, data: Buffer, start: number): number {
    const end = Math.min(data.length, start + this.#bodyLeft);
    if (end === start) return end;
    this.#bodyLeft -= end - start;
    const piece = start === 0 && end === data.length ? data : data.subarray(start, end);
    if (!exchange.write(piece, true)) this.#pauseUntilDrained(exchange);
    if (this.#bodyLeft === 0) this.#onComplete(NO_TRAILERS);
    return end;
  }

  #onHead(head: MessageHead): HeadAction {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      this.#parser.callOnComplete(true);
      return NO_BODY;
    }
    this.#status = head.statusCode;
    if (head.statusCode < 200) {
      // 1xx interim answers concern this connection only; a 101 was never asked for.
      if (head.statusCode === 101) this.socket.destroy();
      this.#parser.callOnComplete(true);
      return READ_BODY;
    }
    this.#answered = true;
    this.#headersDeadline = Number.POSITIVE_INFINITY;
    this.#keepAlive = head.keepAlive;
    const raw = head.rawHeaders;
    let length: number | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      if (name.length === 14 && isName(name, 'content-length')) length = Number(raw[i + 1]);
      else if (name.length === 10 && isName(name, 'keep-alive')) this.#idleMs = idleHint(raw[i + 1] as string);
    }
    const isHead = exchange.request.method === 'HEAD';
    const status = head.statusCode;
    const noBody = isHead || status === 204 || status === 304;
    /*
     * A body of known length is counted here, not parsed: llhttp stops right
     * after the head (`STOP`) and `#onData` relays the next `length` bytes
     * as they are, saving a callback and a copied buffer per piece. Exactly
     * as safe: llhttp refuses a head with Content-Length and
     * Transfer-Encoding, a repeated Content-Length, or one that is not all
     * digits, before this runs, and then frames such a body by that length
     * alone (its bytes are never interpreted). Beyond 2^53 (not a real
     * answer) llhttp counts.
     */
    const counted = !noBody && length !== undefined && length > 0 && length <= Number.MAX_SAFE_INTEGER;
    this.#bodyLeft = counted ? (length as number) : 0;
    this.#parser.callOnComplete(!counted);
    const relay = exchange.relay;
    const headers = relay === undefined ? this.#pool.responseHeaders(raw) : relay.responseHeaders(raw);
    exchange.writeHead(status, head.statusMessage, headers, length, noBody);
    if (counted) return STOP;
    return isHead ? NO_BODY : READ_BODY;
  }

  /** A piece of a body llhttp parses (chunked, or running until the agent closes). */
  #onBody(chunk: Buffer): void {
    const exchange = this.#exchange;
    if (exchange !== undefined && !exchange.write(chunk)) this.#pauseUntilDrained(exchange);
  }

  /** Backpressure from the caller: stop reading the agent until the caller's socket has room. */
  #pauseUntilDrained(exchange: Exchange): void {
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
    exchange.onDrain(() => {
      this.#paused = false;
      this.socket.resume();
    });
  }

  #onComplete(trailers: readonly string[]): void {
    if (this.#status < 200) return;
    const exchange = this.#exchange;
    this.#exchange = undefined;
    const relayTrailers = this.#pool.responseTrailers;
    exchange?.end(trailers.length > 0 && relayTrailers ? relayTrailers(trailers) : undefined);
    if (this.#requestSent) this.#recycle();
    // Otherwise the body is still being sent: the connection cannot carry another request.
    else this.socket.destroy();
  }

  #recycle(): void {
    if (this.#keepAlive && !this.socket.destroyed) this.#pool.release(this, this.#idleMs);
    else this.socket.destroy();
  }

  /** The caller left: a half-relayed exchange leaves the connection unusable. */
  readonly #abandon = (): void => {
    if (this.#exchange === undefined) return;
    this.#exchange = undefined;
    this.socket.destroy();
  };

  readonly #onEnd = (): void => {
    // A body that runs until the connection closes ends here.
    this.#parser.finish();
  };

  readonly #onClose = (): void => {
    this.#clearConnectTimer();
    this.#parser.close();
    this.#pool.discard(this);
    const exchange = this.#exchange;
    this.#exchange = undefined;
    if (exchange === undefined || exchange.done) return;
    if (this.#answered) {
      exchange.destroy();
      return;
    }
    const error = this.#cause ?? Object.assign(new Error('the agent closed the connection'), { code: 'ECONNRESET' });
    this.#pool.failed(exchange, this.#head, error, this.#reused && !exchange.request.hasBody);
  };

  /**
   * A deadline rather than a timer per request: arming and clearing a timer
   * on every request costs more than the relay's own work; the pool checks
   * deadlines a few times per `headersMs`.
   */
  #armHeadersDeadline(now: number): void {
    const ms = this.#pool.headersMs;
    if (ms !== Number.POSITIVE_INFINITY) this.#headersDeadline = now + ms;
  }

  /** Called by the pool's sweep: cuts the request if the agent's answer is overdue. */
  checkDeadline(now: number): void {
    if (now > this.#headersDeadline && this.#exchange !== undefined && !this.#answered) this.#timeout('headers');
  }

  #timeout(phase: 'connect' | 'headers'): void {
    this.#connectTimer = undefined;
    this.#headersDeadline = Number.POSITIVE_INFINITY;
    this.#cause = Object.assign(new Error(`upstream ${phase} timeout`), { code: 'GATEWAY_TIMEOUT' });
    this.socket.destroy();
  }

  #clearConnectTimer(): void {
    if (this.#connectTimer === undefined) return;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
  }
}

/** The idle time an agent announces (`Keep-Alive: timeout=5`), less a second against the race with its close. */
function idleHint(value: string): number {
  // An upstream announces the same value on every answer: the last one read is remembered.
  if (value === lastHint.value) return lastHint.ms;
  const match = /timeout=(\d+)/i.exec(value);
  const ms = match === null ? DEFAULT_IDLE_MS : Math.min(DEFAULT_IDLE_MS, Math.max(0, Number(match[1]) * 1000 - 1000));
  lastHint.value = value;
  lastHint.ms = ms;
  return ms;
}
const lastHint = { value: '', ms: DEFAULT_IDLE_MS };
