import { createRequire } from 'node:module';

/**
 * Node's own HTTP/1.1 parser (llhttp, the one behind `node:http`), driven
 * directly on raw sockets.
 *
 * The relays built on it (the gateway's data path, the agent's `/proxy`)
 * skip Node's `http.Server`, `http.request` and `undici`: their per-request
 * objects and stream machinery cost more than the relay itself (see
 * docs/decisions.md, Gateway, "The wire"). Parsing stays with llhttp in
 * strict mode, so every framing rule Node enforces against request smuggling
 * (Content-Length with Transfer-Encoding, bad chunk sizes, invalid header
 * characters, oversized heads) is enforced here too.
 *
 * `_http_common` is the module `node:http` itself uses; it has exported the
 * parser with the same callback slots since Node 12. This file is the only
 * place that knows about it.
 */

interface NativeParser {
  initialize(kind: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParseFailure;
  finish(): number | ParseFailure | undefined;
  close(): void;
  [slot: number]: unknown;
}

interface NativeParserClass {
  new (): NativeParser;
  REQUEST: number;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

const common = createRequire(import.meta.url)('_http_common') as { HTTPParser: NativeParserClass; methods: string[] };
const { HTTPParser } = common;
if (typeof HTTPParser !== 'function' || !Array.isArray(common.methods)) {
  throw new Error("this Node.js version does not expose its HTTP parser ('_http_common'); @cove/wire needs Node 20 or 22");
}
/** Method names by llhttp's number, in a plain array: Node's is frozen, and indexing it took V8's slow path per request. */
const methods: readonly string[] = [...common.methods];

/** What llhttp refused, and where. */
export interface ParseFailure extends Error {
  /** llhttp's code: `HPE_INVALID_CONTENT_LENGTH`, `HPE_HEADER_OVERFLOW`, … */
  code: string;
  reason?: string;
  bytesParsed: number;
}

/** A parsed request or status line with its header section. */
export interface MessageHead {
  versionMajor: number;
  versionMinor: number;
  /** Flat `[name, value, name, value, …]` as sent (names keep their case). */
  rawHeaders: string[];
  /** Requests only. */
  method: string;
  /** Requests only: the request target as sent. */
  url: string;
  /** Responses only. */
  statusCode: number;
  statusMessage: string;
  /** Connection: upgrade with an Upgrade header (requests), or a 101 (responses). */
  upgrade: boolean;
  /** Whether the connection may carry another message after this one. */
  keepAlive: boolean;
}

/**
 * What the parser does after a head: read the body it announces (`READ_BODY`),
 * take it as bodiless (`NO_BODY`: the answer to a HEAD request), or stop right
 * after the head (`STOP`: `execute` returns the bytes consumed so far and the
 * rest belongs to whoever takes the connection over).
 */
export const READ_BODY = 0;
export const NO_BODY = 1;
export const STOP = 2;
export type HeadAction = typeof READ_BODY | typeof NO_BODY | typeof STOP;

export interface MessageHandlers {
  /** A message's head: the parser's own object, filled in anew for each message (a handler copies what it keeps). */
  onHead(head: MessageHead): HeadAction;
  /** A piece of the body, already de-chunked: a copy the handler may keep. */
  onBody(chunk: Buffer): void;
  /** The message is complete; `trailers` is the chunked body's trailer section (flat `[name, value, …]`, often empty). */
  onComplete(trailers: readonly string[]): void;
}

export type MessageKind = 'request' | 'response';

const NO_TRAILERS: readonly string[] = [];

/** One parser for the life of one connection: messages follow each other on it. */
export class MessageParser {
  readonly #native: NativeParser;
  #closed = false;
  /**
   * Header pieces llhttp hands over before the head is complete (more than 32
   * headers, and every head once a message had trailers), or, after the head,
   * the trailer section.
   */
  #pendingHeaders: string[] | undefined;
  #pendingUrl = '';
  readonly #onComplete: () => void;
  #completeArmed = true;

  constructor(kind: MessageKind, handlers: MessageHandlers) {
    const native = new HTTPParser();
    const head: MessageHead = {
      versionMajor: 1,
      versionMinor: 1,
      rawHeaders: [],
      method: '',
      url: '',
      statusCode: 0,
      statusMessage: '',
      upgrade: false,
      keepAlive: false,
    };
    // maxHeaderSize 0: Node's limit (16 KiB, or --max-http-header-size); lenient 0: strict parsing.
    native.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, 0, 0);
    native[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
      this.#pendingHeaders = this.#pendingHeaders ? this.#pendingHeaders.concat(headers) : headers;
      this.#pendingUrl += url;
    };
    native[HTTPParser.kOnHeadersComplete] = (
      versionMajor: number,
      versionMinor: number,
      headers: string[] | undefined,
      method: number | undefined,
      url: string | undefined,
      statusCode: number | undefined,
      statusMessage: string | undefined,
      upgrade: boolean,
      keepAlive: boolean,
    ): number => {
      let rawHeaders = headers;
      let target = url;
      if (rawHeaders === undefined) {
        rawHeaders = this.#pendingHeaders ?? [];
        target = this.#pendingUrl;
        this.#pendingHeaders = undefined;
        this.#pendingUrl = '';
      }
      // One head object per parser, filled in anew for each message: handlers copy what they keep.
      head.versionMajor = versionMajor;
      head.versionMinor = versionMinor;
      head.rawHeaders = rawHeaders;
      head.method = method === undefined ? '' : (methods[method] ?? '');
      head.url = target ?? '';
      head.statusCode = statusCode ?? 0;
      head.statusMessage = statusMessage ?? '';
      head.upgrade = upgrade;
      head.keepAlive = keepAlive;
      return handlers.onHead(head);
    };
    native[HTTPParser.kOnBody] = handlers.onBody;
    this.#onComplete = () => {
      // What llhttp flushed after the head is the trailer section: it belongs to this message, never to the next head.
      const trailers = this.#pendingHeaders ?? NO_TRAILERS;
      this.#pendingHeaders = undefined;
      this.#pendingUrl = '';
      handlers.onComplete(trailers);
    };
    native[HTTPParser.kOnMessageComplete] = this.#onComplete;
    this.#native = native;
  }

  /**
   * Whether `onComplete` is called for the messages from now on (call from
   * `onHead` to decide for the message it is given). A handler that knows
   * where a message ends without it (no body, or a Content-Length it counts
   * down) turns it off: each callback from llhttp into JavaScript is a fair
   * share of a small relayed message's cost. Never for a chunked message: its
   * trailers come with the callback.
   */
  callOnComplete(on: boolean): void {
    if (on === this.#completeArmed) return;
    this.#completeArmed = on;
    this.#native[HTTPParser.kOnMessageComplete] = on ? this.#onComplete : undefined;
  }

  /**
   * Feeds bytes; handlers run synchronously. Returns how many bytes were
   * consumed (fewer than given only after an upgrade head or a head answered
   * with `STOP`: the rest belongs to whoever takes the connection over), or
   * the parse failure.
   */
  execute(data: Buffer): number | ParseFailure {
    if (this.#closed) return data.length;
    return this.#native.execute(data);
  }

  /** The peer ended its side: completes a message whose body runs until the connection closes. */
  finish(): ParseFailure | undefined {
    if (this.#closed) return undefined;
    const result = this.#native.finish();
    return typeof result === 'object' ? result : undefined;
  }

  /** Frees the native parser; later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }
}

export function isParseFailure(value: number | ParseFailure): value is ParseFailure {
  return typeof value !== 'number';
}
