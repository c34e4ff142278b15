import { type ContentMatch, SEARCH_LINE_MAX_CHARS } from '@cove/protocol';

/** What the reader does after handing a line to the collector. */
export type Verdict = 'continue' | 'stop';

export interface CollectorOptions {
  maxResults: number;
  contextLines: number;
  /** Characters of text (matches and context) kept at most; past it the search stops as capped. */
  maxTextChars: number;
  /** The answer's bytes before `results` (see body()). */
  head?: Buffer;
}

interface RingLine {
  line: number;
  text: string;
}

/**
 * Groups ripgrep's matching lines by file and attaches context.
 *
 * Context is the `context_lines` lines around a match whatever they are, so
 * a neighbouring matching line also appears in the other's context (what
 * "2 lines after" means to a reader). ripgrep prints each line once, as a
 * match or as context, so every printed line feeds both the pending
 * after-windows and a small ring of recent lines for the next before-window.
 *
 * Capping: once `maxResults` lines are kept, the collector keeps reading
 * only until the last match's after-context is complete and one more
 * match shows up; that one proves the cap cut something (`capped: true`)
 * and the search stops. If ripgrep ends first, nothing was cut.
 */
export class MatchCollector {
  totalMatches = 0;
  totalFiles = 0;
  capped = false;

  readonly #max: number;
  readonly #context: number;
  readonly #maxText: number;
  readonly #head: Buffer;
  #textChars = 0;
  /** The current file's matches, when they carry context (filled in as rg goes on). */
  #file: ContentMatch[] | null = null;
  #inFile = false;
  #fileKey = '';
  /** Where the current file's part starts in #out (its `"key":[`, if any), and where its matches start. */
  #partStart = 0;
  #fileStart = 0;
  #ring: RingLine[] = [];
  #pending: ContentMatch[] = [];
  /**
   * Every file's matches serialised as UTF-8 (`match,match,…`), one file after
   * another. Without context a match is written here as it arrives, with
   * context when its file ends. Serialising as rg goes spreads the work over
   * the search, and one growing buffer (instead of a string or a Buffer per
   * match or file) leaves the garbage collector little to do.
   */
  #out = takeScratch();
  #pos = 0;
  /**
   * Per file key, its parts in #out as [start, matches start, end, …]: the first part starts with the
   * key's `"key":[`, a later one (the key came back) has its matches only.
   */
  readonly #files = new Map<string, number[]>();
  /**
   * The keys of #files in code-unit order (the default sort), kept sorted as files come (a binary
   * search and an insertion each) so that sorting is not left for the moment rg's output ends, when
   * the answer waits for it; past SORTED_KEYS_MAX keys they are only collected and sorted at the end.
   */
  readonly #keys: string[] = [];
  #keysSorted = true;
  #body: Buffer | null = null;
  #bodyEnd = 0;
  #bodyFiles = 0;
  #bodyMatches = 0;

  constructor(options: CollectorOptions) {
    this.#max = options.maxResults;
    this.#context = options.contextLines;
    this.#maxText = options.maxTextChars;
    this.#head = options.head ?? EMPTY;
  }

  /** True once `maxResults` lines are kept. */
  get full(): boolean {
    return this.totalMatches >= this.#max;
  }

  /** Whether context lines are wanted at all (readers skip decoding them otherwise). */
  get wantsContext(): boolean {
    return this.#context > 0;
  }

  /** A new file starts: context never crosses files. */
  beginFile(): Verdict {
    this.#flush();
    if (this.#ring.length > 0) this.#ring = [];
    if (this.#pending.length > 0) this.#pending = [];
    return this.capped ? 'stop' : 'continue';
  }

  /** A file ends: its matches are complete, context included. */
  endFile(): Verdict {
    this.#flush();
    return this.capped ? 'stop' : 'continue';
  }

  #flush(): void {
    if (!this.#inFile) return;
    this.#inFile = false;
    if (this.#file !== null) {
      const file = this.#file;
      this.#file = null;
      if (file.length > 0) this.#utf8(JSON.stringify(file).slice(1, -1));
    }
    if (this.#pos === this.#fileStart) {
      this.#pos = this.#partStart;
      return;
    }
    const parts = this.#files.get(this.#fileKey);
    // A key seen again (two paths with one key): its matches are appended.
    if (parts === undefined) {
      this.#files.set(this.#fileKey, [this.#partStart, this.#fileStart, this.#pos]);
      this.#addKey(this.#fileKey);
    } else {
      parts.push(this.#partStart, this.#fileStart, this.#pos);
    }
  }

  #addKey(key: string): void {
    const keys = this.#keys;
    if (!this.#keysSorted || keys.length >= SORTED_KEYS_MAX) {
      this.#keysSorted = false;
      keys.push(key);
      return;
    }
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo === keys.length) keys.push(key);
    else keys.splice(lo, 0, key);
  }

  /** Opens `key`'s file for a match, closing the previous one; false once the match is one too many. */
  #admit(key: string): boolean {
    if (this.full) {
      this.capped = true;
      return false;
    }
    if (!this.#inFile || this.#fileKey !== key) {
      this.#flush();
      this.#inFile = true;
      if (this.#context > 0) this.#file = [];
      this.#fileKey = key;
      this.#partStart = this.#pos;
      if (!this.#files.has(key)) {
        this.totalFiles++;
        // The key goes first, written now rather than when the answer is put together.
        this.#writeKey(key);
      }
      this.#fileStart = this.#pos;
    }
    return true;
  }

  /**
   * A matching line whose text is `src[s..e)`, without its line break, all
   * bytes 0x20–0x7f but the quote and the backslash (it reads the same as a JSON string's
   * content and in UTF-16 code units): copied as it stands, no string made.
   */
  matchAscii(key: string, line: number, column: number, src: Buffer, s: number, e: number): Verdict {
    if (this.#context > 0 || this.full) return this.match(key, line, src.toString('latin1', s, e), column, true);
    this.#admit(key);
    const cut = e - s > SEARCH_LINE_MAX_CHARS ? SEARCH_LINE_MAX_CHARS : e - s;
    this.#textChars += cut;
    this.#reserve(cut + 80);
    const out = this.#out;
    let pos = this.#matchHead(line, column);
    if (cut < 64) for (let i = 0; i < cut; i++) out[pos + i] = src[s + i] as number;
    else src.copy(out, pos, s, s + cut);
    pos += cut;
    out[pos++] = 0x22; // "
    if (cut < e - s) pos = putBytes(out, pos, TRUNCATED);
    out[pos++] = 0x7d; // }
    this.#pos = pos;
    this.totalMatches++;
    return this.#textChars > this.#maxText ? this.#overBudget() : 'continue';
  }

  /**
   * Writes a match's start, `,{"line":N,"column":N,"text":"` (no comma before a file's first), at the end of the
   * answer (room reserved by the caller); returns where its text goes.
   */
  #matchHead(line: number, column: number): number {
    const out = this.#out;
    let pos = this.#pos;
    if (pos > this.#fileStart) out[pos++] = 0x2c; // ,
    pos = putBytes(out, pos, LINE_KEY);
    pos = putInt(out, pos, line);
    pos = putBytes(out, pos, COLUMN_KEY);
    pos = putInt(out, pos, column);
    return putBytes(out, pos, TEXT_KEY);
  }

  /** `plain`: the text needs no escape in JSON (ASCII, no quote, backslash or control character). */
  match(key: string, line: number, text: string, column: number, plain = false): Verdict {
    const context = this.#context;
    if (this.full) {
      this.capped = true;
      // The extra line still belongs in the last kept match's after-context;
      // read on until that context is complete.
      if (context > 0) this.#feedAfter(line, this.#cut(text));
      return this.#pending.length === 0 ? 'stop' : 'continue';
    }
    this.#admit(key);
    const cut = this.#cut(text);
    this.#textChars += cut.length;
    if (context === 0) {
      // Serialised now, as JSON.stringify would write the ContentMatch object (same keys, same order).
      this.#reserve(80);
      this.#pos = this.#matchHead(line, column) - 1; // the quote is written with the text
      if (plain) {
        this.#reserve(cut.length + 2);
        this.#out[this.#pos++] = 0x22;
        this.#pos += this.#out.write(cut, this.#pos, 'latin1');
        this.#out[this.#pos++] = 0x22;
      } else {
        this.#utf8(JSON.stringify(cut));
      }
      this.#reserve(20);
      if (cut.length < text.length) this.#pos = putBytes(this.#out, this.#pos, TRUNCATED);
      this.#out[this.#pos++] = 0x7d; // }
      this.totalMatches++;
      return this.#textChars > this.#maxText ? this.#overBudget() : 'continue';
    }
    const m: ContentMatch = { line, column, text: cut };
    if (cut.length < text.length) m.truncated = true;
    this.#feedAfter(line, cut);
    const before: string[] = [];
    for (const r of this.#ring) {
      if (r.line >= line - context && r.line < line) {
        before.push(r.text);
        this.#textChars += r.text.length;
      }
    }
    m.context_before = before;
    m.context_after = [];
    this.#pending.push(m);
    this.#remember(line, cut);
    this.#file?.push(m);
    this.totalMatches++;
    return this.#textChars > this.#maxText ? this.#overBudget() : 'continue';
  }

  contextLine(line: number, text: string): Verdict {
    if (this.#context === 0) return 'continue';
    const cut = this.#cut(text);
    this.#feedAfter(line, cut);
    this.#remember(line, cut);
    if (this.capped && this.#pending.length === 0) return 'stop';
    return this.#textChars > this.#maxText ? this.#overBudget() : 'continue';
  }

  #overBudget(): Verdict {
    this.capped = true;
    return 'stop';
  }

  #feedAfter(line: number, text: string): void {
    if (this.#pending.length === 0) return;
    const context = this.#context;
    let done = 0;
    for (const m of this.#pending) {
      if (line > m.line && line <= m.line + context) {
        m.context_after?.push(text);
        this.#textChars += text.length;
      }
      if (line >= m.line + context) done++;
    }
    // Pending matches are in line order, so the finished ones are a prefix.
    if (done > 0) this.#pending.splice(0, done);
  }

  #remember(line: number, text: string): void {
    this.#ring.push({ line, text });
    if (this.#ring.length > this.#context) this.#ring.shift();
  }

  #cut(text: string): string {
    return text.length > SEARCH_LINE_MAX_CHARS ? text.slice(0, SEARCH_LINE_MAX_CHARS) : text;
  }

  /** `"key":[`: a key of printable ASCII without quote or backslash as it stands, any other through JSON.stringify. */
  #writeKey(key: string): void {
    const n = key.length;
    let i = 0;
    while (i < n) {
      const c = key.charCodeAt(i);
      if (c < 0x20 || c > 0x7f || c === 0x22 || c === 0x5c) break;
      i++;
    }
    if (i === n) {
      this.#reserve(n + 4);
      const out = this.#out;
      let pos = this.#pos;
      out[pos++] = 0x22; // "
      for (let j = 0; j < n; j++) out[pos + j] = key.charCodeAt(j);
      pos += n;
      out[pos++] = 0x22;
      this.#pos = pos;
    } else {
      this.#utf8(JSON.stringify(key));
    }
    this.#reserve(2);
    this.#out[this.#pos++] = 0x3a; // :
    this.#out[this.#pos++] = 0x5b; // [
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#out.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.#out.length * 2, this.#pos + n));
    this.#out.copy(grown, 0, 0, this.#pos);
    this.#out = grown;
  }

  #utf8(s: string): void {
    this.#reserve(s.length * 3);
    this.#pos += this.#out.write(s, this.#pos, 'utf8');
  }

  /**
   * The whole answer: the head given at construction, the `results` object,
   * then the totals, as one UTF-8 buffer. File keys are in code-unit order
   * (the default sort), so answers are stable whatever order rg's threads
   * finish in. The results are copied into place once: `finish()` does it as
   * soon as rg's output ends, while the agent still waits to hear that rg
   * exited; the totals are written last, as `capped` may still change.
   * The collector is done then: its scratch buffer goes to the next search.
   */
  body(): Buffer {
    this.#build();
    if (this.#out.length > 0) {
      giveScratch(this.#out);
      this.#out = EMPTY;
    }
    const body = this.#body as Buffer;
    let pos = this.#bodyEnd;
    pos += body.write(`,"total_matches":${this.totalMatches},"total_files":${this.totalFiles},"capped":${this.capped}}`, pos, 'latin1');
    return body.subarray(0, pos);
  }

  /** The `results` object as JSON. */
  resultsJson(): string {
    this.#build();
    return (this.#body as Buffer).toString('utf8', this.#head.length, this.#bodyEnd);
  }

  /** rg's output ended: the results are final, build their JSON now. */
  finish(): void {
    this.#build();
  }

  #build(): void {
    this.#flush();
    if (this.#body !== null && this.#bodyFiles === this.#files.size && this.#bodyMatches === this.totalMatches) return;
    if (!this.#keysSorted) {
      this.#keys.sort();
      this.#keysSorted = true;
    }
    const keys = this.#keys;
    let length = this.#head.length + 2 + Math.max(0, keys.length - 1) + TAIL_ROOM;
    for (let i = 0; i < keys.length; i++) {
      const parts = this.#files.get(keys[i] as string) as number[];
      // The parts, a comma between two, and the closing `]`.
      length += parts.length / 3;
      for (let j = 0; j < parts.length; j += 3) length += (parts[j + 2] as number) - (parts[j] as number);
    }
    const body = Buffer.allocUnsafeSlow(length);
    let pos = this.#head.copy(body, 0);
    body[pos++] = 0x7b; // {
    const out = this.#out;
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) body[pos++] = 0x2c; // ,
      const parts = this.#files.get(keys[i] as string) as number[];
      pos += out.copy(body, pos, parts[0] as number, parts[2] as number);
      for (let j = 3; j < parts.length; j += 3) {
        body[pos++] = 0x2c; // ,
        pos += out.copy(body, pos, parts[j + 1] as number, parts[j + 2] as number);
      }
      body[pos++] = 0x5d; // ]
    }
    body[pos++] = 0x7d; // }
    this.#body = body;
    this.#bodyEnd = pos;
    this.#bodyFiles = this.#files.size;
    this.#bodyMatches = this.totalMatches;
  }
}

const EMPTY = Buffer.alloc(0);
/** Keys kept sorted as they come at most (each insertion moves up to this many). */
const SORTED_KEYS_MAX = 4096;

/**
 * One scratch buffer kept between searches (up to SCRATCH_KEEP bytes): a
 * search then starts with the room the previous one grew to, instead of
 * allocating and copying its way up again. Memory outside V8's heap that is
 * allocated and dropped at every search also brings full garbage collections
 * sooner (V8 counts it towards its limits).
 */
let spare: Buffer | null = null;
const SCRATCH_KEEP = 4 * 1024 * 1024;

function takeScratch(): Buffer {
  const b = spare ?? Buffer.allocUnsafeSlow(64 * 1024);
  spare = null;
  return b;
}

function giveScratch(b: Buffer): void {
  if (b.length <= SCRATCH_KEEP && (spare === null || spare.length < b.length)) spare = b;
}
/** Room for `,"total_matches":N,"total_files":N,"capped":false}`. */
const TAIL_ROOM = 128;
const LINE_KEY = Buffer.from('{"line":');
const COLUMN_KEY = Buffer.from(',"column":');
const TEXT_KEY = Buffer.from(',"text":"');
const TRUNCATED = Buffer.from(',"truncated":true');

/** Copies a short constant into `out` at `pos`; returns the position after it. */
function putBytes(out: Buffer, pos: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) out[pos + i] = bytes[i] as number;
  return pos + bytes.length;
}

/** Writes a non-negative integer in decimal at `pos`; returns the position after it. */
function putInt(out: Buffer, pos: number, n: number): number {
  if (n < 10) {
    out[pos] = 48 + n;
    return pos + 1;
  }
  if (!Number.isSafeInteger(n)) return pos + out.write(String(n), pos, 'latin1');
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  let v = n;
  for (let i = digits - 1; i >= 0; i--) {
    out[pos + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return pos + digits;
}
