import type { Socket } from 'node:net';
import { AppError } from '@cove/protocol';
import { answerAndClose, answerError } from './error-answers.js';
import { Exchange, type ExchangeOwner } from './exchange.js';
import { type HeadAction, isParseFailure, type MessageHead, MessageParser, NO_BODY, type ParseFailure, READ_BODY, STOP } from './llhttp.js';
import { RequestHead } from './request-head.js';
import { readAsStream, readInto } from './socket-reads.js';
import { WriteCoalescer } from './write-coalescer.js';

const EMPTY = Buffer.alloc(0);
const NO_TRAILERS: readonly string[] = [];
/** Where every caller connection reads into: reads are parsed as they come, so one buffer serves them all. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export interface WireHandlers {
  /** A request to answer or relay. */
  request(exchange: Exchange): void;
  /** An upgrade request: the socket is handed over with the bytes that followed the head. */
  upgrade(request: RequestHead, socket: Socket, head: Buffer): void;
  /** Called once for each exchange `request` was called with, when its answer is complete or it was cut. */
  settled?(exchange: Exchange): void;
}

/**
 * Another HTTP server sharing the wire's connections (the agent's JSON app):
 * a request the wire does not keep hands its whole connection over, at that
 * request's head, once the requests before it are answered. The connection
 * does not come back.
 */
export interface WireHandOff {
  /** Whether the wire serves this request (else the connection is handed over). */
  keeps(request: RequestHead, upgrade: boolean): boolean;
  /**
   * Takes the connection over. The request's head and whatever followed it
   * are back at the front of the socket's readable stream, which is paused
   * and resumed right after this returns.
   */
  take(socket: Socket): void;
}

export interface WireTimeouts {
  /** A request head must arrive whole within this time (ms) once it has begun. Default 60 s. */
  headersMs: number;
  /** An idle keep-alive connection (no request in flight) is closed after this time (ms). Default 65 s. */
  keepAliveMs: number;
}

/**
 * One caller's connection: parses requests with llhttp, runs them one at a
 * time in order (pipelined requests wait, and reading pauses while they do),
 * and closes when the caller or a response asks for it.
 */
export class DownstreamConnection implements ExchangeOwner {
  readonly socket: Socket;
  readonly out: WriteCoalescer;
  readonly #handlers: WireHandlers;
  readonly #timeouts: WireTimeouts;
  readonly #parser: MessageParser;
  /** Exchanges in arrival order; the first one is being answered. */
  readonly #queue: Exchange[] = [];
  /** The exchange whose request is being parsed (its body is still arriving). */
  #parsing: Exchange | undefined;
  /** The exchange that received body bytes during the current read: told to send them on once it is parsed. */
  #bodyTarget: Exchange | undefined;
  #upgrade: RequestHead | undefined;
  /** The exchange handed to the `request` handler and not yet settled. */
  #dispatched: Exchange | undefined;
  readonly #handOff: WireHandOff | undefined;
  /** A request whose connection is to be handed over once the queue is empty, and the bytes that followed its head. */
  #handingOver: { request: RequestHead; rest: Buffer } | undefined;
  /** Called when the connection is handed over: it is no longer the wire's. */
  readonly #released: (connection: DownstreamConnection) => void;
  /**
   * A request head has begun to arrive and is not complete yet. The time is
   * not read here but by the sweeps (`checkTimeouts`): a clock read per
   * request is a measurable share of a small relayed request's cost.
   */
  #headStarted = false;
  /** When the sweeps first saw the current head under way (ms, performance.now()), or -1. */
  #headStartedAt = -1;
  /** No request is in flight. */
  #idle = true;
  /** When the sweeps first saw the connection idle (ms), or -1. */
  #idleSince = -1;
  #awaitingHead = true;
  #remoteAddress: string | undefined;
  #bodyPaused = false;
  #reading = true;
  #peerEnded = false;
  #closing = false;

  constructor(
    socket: Socket,
    handlers: WireHandlers,
    timeouts: WireTimeouts,
    handOff?: WireHandOff,
    released: (connection: DownstreamConnection) => void = () => {},
  ) {
    this.socket = socket;
    this.out = new WriteCoalescer(socket);
    this.#handlers = handlers;
    this.#handOff = handOff;
    this.#released = released;
    this.#timeouts = timeouts;
    this.#parser = new MessageParser('request', {
      onHead: (head) => this.#onHead(head),
      onBody: (chunk) => {
        this.#bodyTarget = this.#parsing;
        this.#parsing?.receiveBody(chunk);
      },
      onComplete: (trailers) => this.#onComplete(trailers),
    });
    socket.setNoDelay(true);
    // Bytes that outlive the read they came in (the rest after an upgrade or a hand-over's head) are copied out.
    if (!readInto(socket, READ_BUFFER, this.#onData)) socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.once('close', this.#onClose);
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closing) return;
    if (this.#awaitingHead) this.#headStarted = true;
    const result = this.#parser.execute(chunk);
    const bodyTarget = this.#bodyTarget;
    if (bodyTarget !== undefined) {
      this.#bodyTarget = undefined;
      bodyTarget.flushBody();
    }
    if (isParseFailure(result)) {
      this.#refuseUnparsable(result);
      return;
    }
    if (this.#handingOver !== undefined) {
      this.#handingOver.rest = Buffer.from(chunk.subarray(result));
      this.#updateReading();
      if (this.#queue.length === 0) this.#handOver();
      return;
    }
    const upgrade = this.#upgrade;
    if (upgrade !== undefined) this.#startUpgrade(upgrade, Buffer.from(chunk.subarray(result)));
  };

  #onHead(head: MessageHead): HeadAction {
    this.#awaitingHead = false;
    this.#headStarted = false;
    this.#headStartedAt = -1;
    if (this.#closing) {
      this.#parser.callOnComplete(true);
      return NO_BODY;
    }
    // The peer's address is read once per connection (the getter goes through the socket's handle).
    this.#remoteAddress ??= this.socket.remoteAddress ?? '';
    const request = new RequestHead(head, this.#remoteAddress);
    if (this.#handOff !== undefined && !this.#handOff.keeps(request, head.upgrade)) {
      // llhttp stops right after this head: the head and the bytes after it go to the other server.
      this.#handingOver = { request, rest: EMPTY };
      this.#parser.callOnComplete(true);
      return STOP;
    }
    if (head.upgrade) {
      // llhttp stops after an upgrade head; the rest of the bytes belong to the new protocol.
      this.#upgrade = request;
      this.#parser.callOnComplete(true);
      return READ_BODY;
    }
    const exchange = new Exchange(request, this, head.keepAlive && !this.#peerEnded);
    // A request without a body is complete with its head: llhttp need not call back for its end.
    const bodiless = !request.hasBody;
    this.#parser.callOnComplete(!bodiless);
    this.#parsing = exchange;
    this.#idle = false;
    this.#idleSince = -1;
    this.#queue.push(exchange);
    if (this.#queue.length === 1) this.#dispatch(exchange);
    else this.#updateReading();
    if (bodiless) this.#onComplete(NO_TRAILERS);
    return READ_BODY;
  }

  #onComplete(trailers: readonly string[]): void {
    // A head the connection is handed over at completes at once (llhttp skips its body): nothing to do here.
    if (this.#handingOver !== undefined) return;
    const exchange = this.#parsing;
    this.#parsing = undefined;
    this.#awaitingHead = true;
    exchange?.receiveEnd(trailers);
  }

  /**
   * Gives the connection to the other server: the wire lets go of the
   * socket, puts the request's head (rebuilt from what llhttp parsed, see
   * `RequestHead.toBytes`) and the bytes after it back into the socket's
   * stream, and the other server reads them as if it had accepted the
   * connection itself.
   */
  #handOver(): void {
    const pending = this.#handingOver as { request: RequestHead; rest: Buffer };
    const socket = this.socket;
    this.#closing = true;
    this.#parser.close();
    socket.off('data', this.#onData);
    readAsStream(socket, READ_BUFFER);
    socket.off('end', this.#onEnd);
    socket.off('error', this.#onError);
    socket.off('close', this.#onClose);
    this.#released(this);
    if (this.#peerEnded) {
      // The caller's end was read while earlier requests were answered: a stream past its end takes nothing back.
      socket.end();
      return;
    }
    socket.pause();
    const head = pending.request.toBytes();
    socket.unshift(pending.rest.length === 0 ? head : Buffer.concat([head, pending.rest]));
    this.#handOff?.take(socket);
    socket.resume();
  }

  #dispatch(exchange: Exchange): void {
    this.#dispatched = exchange;
    try {
      this.#handlers.request(exchange);
    } catch {
      answerError(exchange, new AppError('internal_error', 'internal error'));
    }
  }

  exchangeFinished(exchange: Exchange): void {
    if (this.#queue[0] === exchange) this.#queue.shift();
    this.#settle(exchange);
    this.#bodyPaused = false;
    // A body left unread (an early answer) cannot be skipped reliably: the connection ends instead.
    if (!exchange.keepAlive || !exchange.requestComplete || (this.#peerEnded && this.#queue.length === 0)) {
      this.#close();
      return;
    }
    const next = this.#queue[0];
    if (next !== undefined) queueMicrotask(() => this.#dispatch(next));
    else if (this.#handingOver !== undefined) {
      this.#handOver();
      return;
    } else this.#idle = true;
    this.#updateReading();
  }

  setBodyPaused(paused: boolean): void {
    this.#bodyPaused = paused;
    this.#updateReading();
  }

  #updateReading(): void {
    const want =
      !this.#closing && !this.#bodyPaused && this.#queue.length <= 1 && this.#upgrade === undefined && this.#handingOver === undefined;
    if (want === this.#reading) return;
    this.#reading = want;
    if (want) this.socket.resume();
    else this.socket.pause();
  }

  #startUpgrade(request: RequestHead, rest: Buffer): void {
    if (this.#queue.length > 0) {
      // Upgrades do not wait behind pipelined requests: such a client is refused.
      this.#refuse(new AppError('bad_request', 'an upgrade may not follow a request still being answered'), request.requestId);
      return;
    }
    this.#closing = true;
    const socket = this.socket;
    socket.off('data', this.#onData);
    readAsStream(socket, READ_BUFFER);
    socket.off('end', this.#onEnd);
    this.#parser.close();
    this.#handlers.upgrade(request, socket, rest);
  }

  readonly #onError = (): void => {
    this.socket.destroy();
  };

  readonly #onEnd = (): void => {
    this.#peerEnded = true;
    const failure = this.#parser.finish();
    if (failure !== undefined && this.#parsing !== undefined) {
      // The caller stopped in the middle of a request body.
      this.socket.destroy();
      return;
    }
    if (this.#queue.length === 0) this.#close();
  };

  /**
   * Called by the server a few times per timeout (rather than a timer per
   * connection refreshed on every read and write): a request head must
   * arrive whole in time, and a connection with nothing in flight closes
   * after the keep-alive time. A request in flight may be silent for long (a
   * quiet SSE stream, a long exec) and is never cut here. Each period is
   * timed from the first sweep that sees it: never early, late by less than
   * two sweeps.
   */
  checkTimeouts(now: number): void {
    if (this.#closing) return;
    if (this.#awaitingHead && this.#headStarted) {
      if (this.#headStartedAt < 0) this.#headStartedAt = now;
      else if (now - this.#headStartedAt > this.#timeouts.headersMs) {
        this.#refuse(new AppError('request_timeout', 'the request head did not arrive in time'));
      }
    } else if (this.#idle) {
      if (this.#idleSince < 0) this.#idleSince = now;
      else if (now - this.#idleSince > this.#timeouts.keepAliveMs) this.socket.destroy();
    }
  }

  /** Tells the handlers an exchange they were given is over (once). */
  #settle(exchange: Exchange): void {
    if (this.#dispatched !== exchange) return;
    this.#dispatched = undefined;
    this.#handlers.settled?.(exchange);
  }

  readonly #onClose = (): void => {
    this.#closing = true;
    if (this.#dispatched !== undefined) this.#settle(this.#dispatched);
    for (const exchange of this.#queue) exchange.abort();
    this.#parsing?.abort();
    this.#queue.length = 0;
    this.#parsing = undefined;
    this.#parser.close();
  };

  #refuseUnparsable(failure: ParseFailure): void {
    if (failure.code === 'HPE_HEADER_OVERFLOW') {
      this.#refuse(new AppError('headers_too_large', 'request head too large'));
      return;
    }
    this.#refuse(new AppError('bad_request', `malformed HTTP request (${failure.reason ?? failure.code})`));
  }

  /** Answers a request the connection itself refuses, then closes; cuts it if a response is under way. */
  #refuse(error: AppError, requestId?: string): void {
    this.#closing = true;
    if (this.#queue.length > 0) {
      this.socket.destroy();
      return;
    }
    answerAndClose(this.socket, error, requestId);
  }

  #close(): void {
    if (this.#closing && this.socket.writableEnded) return;
    this.#closing = true;
    this.#updateReading();
    this.socket.end();
  }
}
