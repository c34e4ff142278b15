import { randomUUID } from 'node:crypto';
import { isValidRequestId } from '@cove/protocol';
import { isName } from './header-names.js';
import type { MessageHead } from './llhttp.js';

/** How a request body is framed: a Content-Length, chunked, or no body at all (neither header). */
export type BodyFraming = number | 'chunked' | undefined;

/** A parsed request line and header section, as the caller sent them. */
export class RequestHead {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly url: string;
  /** Flat `[name, value, …]`; values as received (llhttp refuses CR, LF and NUL in them). */
  readonly rawHeaders: readonly string[];
  /** 1 (llhttp accepts only HTTP/1.x and HTTP/0.9). */
  readonly versionMajor: number;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly versionMinor: number;
  readonly remoteAddress: string;
  readonly bodyFraming: BodyFraming;
  /** `Expect: 100-continue`: the caller waits for a go-ahead before sending its body. */
  readonly expectContinue: boolean;
  /**
   * The caller's `x-request-id` when valid (1–128 visible ASCII, sent once),
   * else a new UUID: answered on every response and forwarded to the agent.
   */
  readonly requestId: string;
  #headers: Record<string, string> | undefined;

  constructor(head: MessageHead, remoteAddress: string) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.versionMajor = head.versionMajor;
    this.versionMinor = head.versionMinor;
    this.remoteAddress = remoteAddress;
    let framing: BodyFraming;
    let expectContinue = false;
    let requestId: string | undefined;
    let requestIds = 0;
    const raw = head.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      // Only names of these lengths can matter: skips the lower-casing of most headers.
      if (name.length === 14 && isName(name, 'content-length')) {
        if (framing !== 'chunked') framing = Number(raw[i + 1]);
      } else if (name.length === 17 && isName(name, 'transfer-encoding')) {
        // llhttp accepts a request Transfer-Encoding only when chunked comes last, and never with Content-Length.
        framing = 'chunked';
      } else if (name.length === 6 && isName(name, 'expect')) {
        expectContinue = isName(raw[i + 1] as string, '100-continue');
      } else if (name.length === 12 && (name.charCodeAt(0) | 0x20) === 0x78 /* x: not Content-Type */ && isName(name, 'x-request-id')) {
        requestId = raw[i + 1] as string;
        requestIds++;
      }
    }
    this.bodyFraming = framing;
    this.expectContinue = expectContinue;
    this.requestId = requestIds === 1 && isValidRequestId(requestId as string) ? (requestId as string) : randomUUID();
  }

  /** Whether body bytes follow the head. */
  get hasBody(): boolean {
    return this.bodyFraming === 'chunked' || (this.bodyFraming !== undefined && this.bodyFraming > 0);
  }

  /**
   * The head as bytes another HTTP/1.1 server parses exactly as this one was
   * parsed (a connection handed over after it): the request line and the
   * headers in their order and spelling, values as received (latin1, so any
   * byte round-trips). Never longer than what the caller sent: no space after
   * the colon, and the OWS llhttp trimmed stays trimmed.
   */
  toBytes(): Buffer {
    let text = `${this.method} ${this.url} HTTP/${this.versionMajor}.${this.versionMinor}\r\n`;
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) text += `${raw[i] as string}:${raw[i + 1] as string}\r\n`;
    return Buffer.from(`${text}\r\n`, 'latin1');
  }

  /** Lower-cased names, repeated headers joined with `, ` (built on first use: the hot path reads rawHeaders). */
  get headers(): Readonly<Record<string, string>> {
    if (this.#headers !== undefined) return this.#headers;
    const out: Record<string, string> = Object.create(null);
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      const value = raw[i + 1] as string;
      out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
    }
    this.#headers = out;
    return out;
  }
}
