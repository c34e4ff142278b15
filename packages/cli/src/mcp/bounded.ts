/**
 * Output that could be huge (a build log, a minified file) is bounded before it reaches the model: the
 * first and last bytes are kept, the middle is cut, and the answer says how much was cut. Errors are
 * usually at the end of a log and the command that made them at the start, so both ends are worth more
 * than the first N bytes alone.
 */

const decoder = () => new TextDecoder('utf-8', { fatal: false });

/** The bytes of one stream, keeping at most `limit`: half from the start, the rest from the end. */
export class HeadTail {
  readonly limit: number;
  readonly #headCap: number;
  #head: Buffer[] = [];
  #headSize = 0;
  #tail: Buffer[] = [];
  #tailSize = 0;
  /** Every byte seen, kept or not. */
  total = 0;

  constructor(limit: number) {
    this.limit = limit;
    this.#headCap = Math.ceil(limit / 2);
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.#headSize < this.#headCap) {
      const take = Math.min(this.#headCap - this.#headSize, rest.length);
      this.#head.push(rest.subarray(0, take));
      this.#headSize += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    this.#tail.push(rest);
    this.#tailSize += rest.length;
    const tailCap = this.limit - this.#headCap;
    while (this.#tailSize > tailCap) {
      const first = this.#tail[0] as Buffer;
      const over = this.#tailSize - tailCap;
      if (first.length <= over) {
        this.#tail.shift();
        this.#tailSize -= first.length;
      } else {
        this.#tail[0] = first.subarray(over);
        this.#tailSize -= over;
      }
    }
  }

  /** Bytes seen but not kept. */
  get omitted(): number {
    return this.total - this.#headSize - this.#tailSize;
  }

  /** The kept text, with a marker where the middle was cut. */
  text(): string {
    const head = decoder().decode(Buffer.concat(this.#head));
    const tail = decoder().decode(Buffer.concat(this.#tail));
    if (this.omitted === 0) return decoder().decode(Buffer.concat([...this.#head, ...this.#tail]));
    return `${head}\n[… ${this.omitted} bytes cut …]\n${tail}`;
  }
}

/** Text cut to at most `limit` UTF-8 bytes at a line break (when there is one), for answers read from the top. */
export function cutAtLine(text: string, limit: number): { text: string; truncated: boolean; omitted: number; lines: number } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limit) return { text, truncated: false, omitted: 0, lines: countLines(text) };
  let end = bytes.lastIndexOf(0x0a, limit - 1) + 1;
  // One line longer than the limit: cut inside it rather than return nothing.
  if (end === 0) end = limit;
  const kept = decoder().decode(bytes.subarray(0, end));
  return { text: kept, truncated: true, omitted: bytes.length - end, lines: countLines(kept) };
}

/** Lines the way editors count them: a last line without a newline still counts. */
export function countLines(text: string): number {
  if (text === '') return 0;
  let n = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) n++;
  return text.endsWith('\n') ? n : n + 1;
}

/**
 * Lines kept from the end within `limit` UTF-8 bytes, for logs (what happened last matters most): the lines
 * kept, and how many were left out before them.
 */
export function lastLines(lines: readonly string[], limit: number): { kept: string[]; omitted: number } {
  let size = 0;
  let from = lines.length;
  while (from > 0) {
    const next = Buffer.byteLength(lines[from - 1] as string, 'utf8') + 1;
    if (size + next > limit) break;
    size += next;
    from--;
  }
  // One line longer than the limit on its own: keep its end rather than nothing.
  if (from === lines.length && lines.length > 0) {
    const bytes = Buffer.from(lines[lines.length - 1] as string, 'utf8');
    return { kept: [decoder().decode(bytes.subarray(bytes.length - limit))], omitted: lines.length - 1 };
  }
  return { kept: lines.slice(from), omitted: from };
}
