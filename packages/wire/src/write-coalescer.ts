import type { Socket } from 'node:net';

/** Body pieces up to this size are copied into the pending text; larger ones are written as they are. */
const INLINE_MAX = 8 * 1024;
/** Pending text beyond this is written at once rather than at the end of the relay step. */
const PENDING_MAX = 64 * 1024;

/** `net.Socket`'s own write step, under its `Writable` (see `#write`). */
interface DirectSocket {
  _handle: object | null;
  _writeGeneric?(writev: boolean, data: string | Buffer | WritevPiece[], encoding: string, cb: (err?: Error | null) => void): void;
}

/** A piece of a `writev` through `_writeGeneric`, as the stream hands them over. */
interface WritevPiece {
  chunk: string | Buffer;
  encoding: string;
}

/**
 * Gathers the small writes of one relay step (a response head, a chunk-size
 * line, a small body, the end marker) into one `write`: one system call and
 * one TCP segment instead of several. Text is latin1, so any bytes round-trip.
 * The owner calls `flush()` when the step is over. One per connection.
 *
 * A write goes straight to the socket's handle (`net.Socket`'s own
 * `_writeGeneric`, the step under its `Writable`) when the stream holds
 * nothing: the bytes go out in the same system call, without the stream's
 * bookkeeping and the tick it spends on every write it completes (a share of
 * a small relayed request's cost). Libuv keeps writes in order, so a stream
 * write after such a write still goes out after it. A write the kernel could
 * not take at once stays with libuv: the socket counts as full until it is
 * done, and `onDrain` waiters run then.
 */
export class WriteCoalescer {
  readonly #socket: Socket;
  #pending = '';
  /** Direct writes libuv has not finished yet. */
  #inFlight = 0;
  /** Inside a direct write call (a completion seen then was synchronous). */
  #writing = false;
  #waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  text(text: string): void {
    this.#pending += text;
  }

  /**
   * Adds body bytes; false when the socket is full (the caller waits for
   * `onDrain`). `borrowed`: the bytes are only valid during this call (a
   * shared read buffer), so a piece written as it is gets copied first.
   */
  bytes(chunk: Buffer, borrowed = false): boolean {
    if (chunk.length <= INLINE_MAX) {
      this.#pending += chunk.toString('latin1');
      return this.#pending.length < PENDING_MAX || this.flush();
    }
    if (borrowed) chunk = Buffer.from(chunk);
    if (this.#pending === '') return this.#write(chunk);
    const pending = this.#pending;
    this.#pending = '';
    // The text before a large piece (a head, a chunk-size line) goes in the same system call.
    return this.#write([
      { chunk: pending, encoding: 'latin1' },
      { chunk, encoding: 'buffer' },
    ]);
  }

  /** Writes what is pending; false when the socket is full. */
  flush(): boolean {
    const pending = this.#pending;
    if (pending === '') return this.#inFlight === 0 && !this.#socket.writableNeedDrain;
    this.#pending = '';
    return this.#write(pending);
  }

  /** Calls `fn` once the socket has room again. */
  onDrain(fn: () => void): void {
    if (this.#inFlight > 0) this.#waiters.push(fn);
    else if (this.#socket.writableNeedDrain) this.#socket.once('drain', fn);
    else queueMicrotask(fn);
  }

  /** Drops what is pending (the connection is being cut). */
  discard(): void {
    this.#pending = '';
  }

  #write(data: string | Buffer | WritevPiece[]): boolean {
    const socket = this.#socket;
    const direct = socket as unknown as DirectSocket;
    if (
      socket.writableLength > 0 ||
      socket.connecting ||
      socket.destroyed ||
      socket.writableEnded ||
      direct._handle === null ||
      typeof direct._writeGeneric !== 'function'
    ) {
      return this.#streamWrite(data) && this.#inFlight === 0;
    }
    this.#inFlight++;
    this.#writing = true;
    if (Array.isArray(data)) direct._writeGeneric(true, data, '', this.#written);
    else direct._writeGeneric(false, data, typeof data === 'string' ? 'latin1' : 'buffer', this.#written);
    this.#writing = false;
    return this.#inFlight === 0;
  }

  /** Through the socket's stream (it holds earlier bytes, or is not connected yet). */
  #streamWrite(data: string | Buffer | WritevPiece[]): boolean {
    const socket = this.#socket;
    if (typeof data === 'string') return socket.write(data, 'latin1');
    if (!Array.isArray(data)) return socket.write(data);
    socket.cork();
    let room = true;
    for (const piece of data)
      room = (typeof piece.chunk === 'string' ? socket.write(piece.chunk, 'latin1') : socket.write(piece.chunk)) && room;
    socket.uncork();
    return room;
  }

  readonly #written = (err?: Error | null): void => {
    this.#inFlight--;
    if (err) {
      // What the stream does with a failed write.
      this.#socket.destroy(err);
      return;
    }
    // A cut connection has no room to wait for (its stream emits no 'drain' either).
    if (this.#inFlight > 0 || this.#writing || this.#waiters.length === 0 || this.#socket.destroyed) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const fn of waiters) fn();
  };
}
