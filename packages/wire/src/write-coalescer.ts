import type { Socket } from 'node:net';

/** Body pieces up to this size are copied into the pending text; larger ones are written as they are. */
const INLINE_MAX = 8 * 1024;
/** Pending text beyond this is written at once rather than at the end of the relay step. */
const PENDING_MAX = 64 * 1024;

/**
 * Gathers the small writes of one relay step (a response head, a chunk-size
 * line, a small body, the end marker) into one `write`: one system call and
 * one TCP segment instead of several. Text is latin1, so any bytes round-trip.
 * The owner calls `flush()` when the step is over.
 */
export class WriteCoalescer {
  readonly #socket: Socket;
  #pending = '';

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  text(text: string): void {
    this.#pending += text;
  }

  /** Adds body bytes; false when the socket is full (the caller waits for 'drain'). */
  bytes(chunk: Buffer): boolean {
    if (chunk.length <= INLINE_MAX) {
      this.#pending += chunk.toString('latin1');
      return this.#pending.length < PENDING_MAX || this.flush();
    }
    const socket = this.#socket;
    if (this.#pending === '') return socket.write(chunk);
    socket.cork();
    socket.write(this.#pending, 'latin1');
    this.#pending = '';
    const room = socket.write(chunk);
    socket.uncork();
    return room;
  }

  /** Writes what is pending; false when the socket is full. */
  flush(): boolean {
    const pending = this.#pending;
    if (pending === '') return !this.#socket.writableNeedDrain;
    this.#pending = '';
    return this.#socket.write(pending, 'latin1');
  }

  /** Drops what is pending (the connection is being cut). */
  discard(): void {
    this.#pending = '';
  }
}
