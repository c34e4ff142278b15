// The little of WebSocket framing (RFC 6455 §5.2) the gateway needs to end a relayed WebSocket itself: where the
// agent's frames end in the byte stream, and whether the agent sent its own close.

const OPCODE_CLOSE = 0x8;
/** The longest header: 2 bytes, 8 of extended length, 4 of mask key. */
const MAX_HEADER = 14;

/**
 * Follows the frame boundaries of one direction of a WebSocket, reading frame headers only: payloads are
 * skipped by count, never copied or parsed. A frame of the gateway's own (a close) may go in only where one of
 * the agent's ends, or the caller would read it as part of the agent's payload.
 */
export class FrameBoundaries {
  readonly #header = Buffer.alloc(MAX_HEADER);
  /** Header bytes of the current frame read so far (0: between frames, or in a payload). */
  #have = 0;
  /** Payload bytes of the current frame still to come. */
  #skip = 0;
  #closeSeen = false;

  /** Follows `chunk`, the next bytes of the stream. */
  feed(chunk: Buffer): void {
    const length = chunk.length;
    let at = 0;
    while (at < length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, length - at);
        this.#skip -= n;
        at += n;
        continue;
      }
      this.#header[this.#have++] = chunk[at++] as number;
      if (this.#have < 2) continue;
      const h = this.#header;
      const len7 = (h[1] as number) & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((h[1] as number) & 0x80 ? 4 : 0);
      if (this.#have < need) continue;
      if (((h[0] as number) & 0x0f) === OPCODE_CLOSE) this.#closeSeen = true;
      // A 64-bit length above 2^53 is not a real frame; it is followed as far as a number can count.
      this.#skip = len7 === 126 ? h.readUInt16BE(2) : len7 === 127 ? h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6) : len7;
      this.#have = 0;
    }
  }

  /** Between two frames: a frame written now is read as a frame of its own. */
  get atBoundary(): boolean {
    return this.#have === 0 && this.#skip === 0;
  }

  /** The agent sent its close frame: the caller has been told, and must not be told twice. */
  get closeSeen(): boolean {
    return this.#closeSeen;
  }
}

/** A server's close frame (unmasked) with `code` and a reason of at most 123 bytes. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason).subarray(0, 123);
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x80 | OPCODE_CLOSE;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}
