/** One chunk of output, stamped with a sequence number shared by a task's stdout and stderr. */
export interface OutputChunk {
  seq: number;
  data: Buffer;
}

/**
 * The most recent output of one stream, at most `cap` bytes: older chunks
 * are dropped (and `truncated` set) so a chatty task never grows the
 * agent's memory. Chunks keep their sequence numbers so stdout and stderr
 * can be replayed interleaved as they were produced.
 */
export class OutputRing {
  readonly cap: number;
  #chunks: OutputChunk[] = [];
  #head = 0;
  #size = 0;
  /** Bytes ever written, dropped ones included. */
  total = 0;
  truncated = false;

  constructor(cap: number) {
    this.cap = cap;
  }

  get size(): number {
    return this.#size;
  }

  push(seq: number, data: Buffer): void {
    this.total += data.length;
    if (this.cap <= 0) {
      if (data.length > 0) this.truncated = true;
      return;
    }
    if (data.length >= this.cap) {
      // A chunk larger than the whole ring: keep its tail only (a copy, so the big buffer can go).
      this.#chunks = [{ seq, data: Buffer.from(data.subarray(data.length - this.cap)) }];
      this.#head = 0;
      this.#size = this.cap;
      this.truncated ||= data.length > this.cap || this.total > data.length;
      return;
    }
    this.#chunks.push({ seq, data });
    this.#size += data.length;
    while (this.#size > this.cap) {
      const first = this.#chunks[this.#head] as OutputChunk;
      const excess = this.#size - this.cap;
      this.truncated = true;
      if (first.data.length <= excess) {
        this.#size -= first.data.length;
        this.#chunks[this.#head] = undefined as unknown as OutputChunk;
        this.#head++;
      } else {
        first.data = first.data.subarray(excess);
        this.#size -= excess;
      }
    }
    // Compact the array once the dropped prefix dominates it.
    if (this.#head > 64 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The buffered chunks, oldest first. */
  chunks(): OutputChunk[] {
    return this.#chunks.slice(this.#head);
  }

  /** The buffered bytes as UTF-8 text; a sequence cut by truncation at the start is skipped. */
  text(): string {
    const all = Buffer.concat(this.chunks().map((c) => c.data));
    let start = 0;
    if (this.truncated) while (start < 3 && start < all.length && ((all[start] as number) & 0xc0) === 0x80) start++;
    return all.toString('utf8', start);
  }

  /**
   * The last `max` buffered bytes as UTF-8 text (a sequence cut at the start is skipped), and whether anything
   * was left out: only the end is copied and decoded, whatever the ring holds.
   */
  tailText(max: number): { text: string; cut: boolean } {
    const parts: Buffer[] = [];
    let bytes = 0;
    for (let i = this.#chunks.length - 1; i >= this.#head && bytes < max; i--) {
      const data = (this.#chunks[i] as OutputChunk).data;
      parts.unshift(bytes + data.length > max ? data.subarray(data.length - (max - bytes)) : data);
      bytes += Math.min(data.length, max - bytes);
    }
    const cut = this.#size > max;
    const tail = Buffer.concat(parts);
    let start = 0;
    if (cut || this.truncated) while (start < 3 && start < tail.length && ((tail[start] as number) & 0xc0) === 0x80) start++;
    return { text: tail.toString('utf8', start), cut };
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#size = 0;
  }
}

/** Merges two rings' chunks in production order. */
export function interleave(a: OutputChunk[], b: OutputChunk[]): Array<{ fd: 1 | 2; chunk: OutputChunk }> {
  const out: Array<{ fd: 1 | 2; chunk: OutputChunk }> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x && (!y || x.seq < y.seq)) {
      out.push({ fd: 1, chunk: x });
      i++;
    } else if (y) {
      out.push({ fd: 2, chunk: y });
      j++;
    }
  }
  return out;
}
