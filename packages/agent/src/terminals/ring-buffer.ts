/**
 * A fixed-capacity byte ring: keeps the last `capacity` bytes written and
 * never grows, whatever the terminal prints. Memory is allocated once.
 */
export class RingBuffer {
  readonly capacity: number;
  readonly #buf: Buffer;
  /** Next write position. */
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#buf = Buffer.allocUnsafe(capacity);
  }

  /** Bytes currently held (at most `capacity`). */
  get size(): number {
    return this.#size;
  }

  push(data: Uint8Array): void {
    const cap = this.capacity;
    // Only the tail of an oversized chunk can survive.
    const src = data.length > cap ? data.subarray(data.length - cap) : data;
    const first = Math.min(src.length, cap - this.#head);
    this.#buf.set(src.subarray(0, first), this.#head);
    if (first < src.length) this.#buf.set(src.subarray(first), 0);
    this.#head = (this.#head + src.length) % cap;
    this.#size = Math.min(cap, this.#size + src.length);
  }

  /** A copy of the last `n` bytes held (all of them by default), oldest first. */
  tail(n: number = this.#size): Buffer {
    const len = Math.max(0, Math.min(n, this.#size));
    const out = Buffer.allocUnsafe(len);
    const start = (this.#head - len + this.capacity) % this.capacity;
    const first = Math.min(len, this.capacity - start);
    this.#buf.copy(out, 0, start, start + first);
    if (first < len) this.#buf.copy(out, first, 0, len - first);
    return out;
  }
}
