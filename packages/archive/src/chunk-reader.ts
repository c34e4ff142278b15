import { createHash, type Hash } from 'node:crypto';
import { TarError } from './tar-format.js';

/**
 * Reads exact byte counts from an async stream of chunks, hashing everything it pulls when asked to (a layer's
 * diff id is the sha256 of its whole uncompressed tar). `what` names the stream in messages.
 */
export class ChunkReader {
  readonly #source: AsyncIterator<Buffer>;
  readonly hash: Hash | undefined;
  readonly #what: string;
  #chunk: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Buffer>, what: string, digest: boolean) {
    this.#source = source[Symbol.asyncIterator]();
    this.#what = what;
    this.hash = digest ? createHash('sha256') : undefined;
  }

  /** Whether the stream has ended (its source is done). */
  get ended(): boolean {
    return this.#done;
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#source.next();
    if (next.done) {
      this.#done = true;
      return false;
    }
    const value = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.hash?.update(value);
    this.#chunk = this.#chunk.length === 0 ? value : Buffer.concat([this.#chunk, value]);
    return true;
  }

  /** Exactly n bytes; null at a clean end of the stream (nothing left), an error on a cut one. */
  async exactly(n: number): Promise<Buffer | null> {
    while (this.#chunk.length < n) {
      if (!(await this.#fill())) {
        if (this.#chunk.length === 0) return null;
        throw new TarError(`the ${this.#what} ends in the middle of an entry`);
      }
    }
    const out = this.#chunk.subarray(0, n);
    this.#chunk = this.#chunk.subarray(n);
    return out;
  }

  /** n bytes in pieces as they arrive (each valid until the next piece is asked for). */
  async *pieces(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#chunk.length === 0 && !(await this.#fill())) throw new TarError(`the ${this.#what} ends in the middle of a file`);
      const take = Math.min(left, this.#chunk.length);
      const piece = this.#chunk.subarray(0, take);
      this.#chunk = this.#chunk.subarray(take);
      left -= take;
      yield piece;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.pieces(n)) {
      // discarded
    }
  }

  /** Reads what is left (tar padding after the end marker): a digest covers it too. */
  async drain(): Promise<void> {
    this.#chunk = Buffer.alloc(0);
    while (await this.#fill()) this.#chunk = Buffer.alloc(0);
  }
}
