import { type ContentMatch, SEARCH_LINE_MAX_CHARS } from '@cove/protocol';

/** What the reader does after handing a line to the collector. */
export type Verdict = 'continue' | 'stop';

export interface CollectorOptions {
  maxResults: number;
  contextLines: number;
  /** Characters of text (matches and context) kept at most; past it the search stops as capped. */
  maxTextChars: number;
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
  #textChars = 0;
  /** The current file's matches, when they carry context (filled in as rg goes on). */
  #file: ContentMatch[] | null = null;
  /** The current file's matches serialised as they come, when there is no context (the common case). */
  #fileJson = '';
  #inFile = false;
  #fileKey = '';
  #ring: RingLine[] = [];
  #pending: ContentMatch[] = [];
  /**
   * Finished files, serialised and encoded: `"key":[match,…]` as UTF-8.
   * Serialising each file when rg moves on spreads the work over the search
   * instead of doing it all once rg has finished; the answer is then little
   * more than a concatenation of buffers.
   */
  readonly #done = new Map<string, Buffer>();
  #results: Buffer | null = null;
  #resultsFiles = 0;
  #resultsMatches = 0;

  constructor(options: CollectorOptions) {
    this.#max = options.maxResults;
    this.#context = options.contextLines;
    this.#maxText = options.maxTextChars;
  }

  /** True once `maxResults` lines are kept. */
  get full(): boolean {
    return this.totalMatches >= this.#max;
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
    let inner: string;
    if (this.#file !== null) {
      const file = this.#file;
      this.#file = null;
      inner = JSON.stringify(file).slice(1, -1);
    } else {
      inner = this.#fileJson;
      this.#fileJson = '';
    }
    if (inner.length === 0) return;
    const key = this.#fileKey;
    const before = this.#done.get(key);
    // A key seen again (rg printed the file twice, or two paths have one key): its matches are appended.
    this.#done.set(
      key,
      before === undefined
        ? Buffer.from(`${JSON.stringify(key)}:[${inner}]`)
        : Buffer.concat([before.subarray(0, before.length - 1), Buffer.from(`,${inner}]`)]),
    );
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
    if (!this.#inFile || this.#fileKey !== key) {
      this.#flush();
      if (!this.#done.has(key)) this.totalFiles++;
      this.#inFile = true;
      if (context > 0) this.#file = [];
      this.#fileKey = key;
    }
    const cut = this.#cut(text);
    this.#textChars += cut.length;
    if (context === 0) {
      // Serialised now, as JSON.stringify would write the ContentMatch object (same keys, same order).
      const truncated = cut.length < text.length ? ',"truncated":true' : '';
      const quoted = plain ? `"${cut}"` : JSON.stringify(cut);
      const json = `{"line":${line},"column":${column},"text":${quoted}${truncated}}`;
      this.#fileJson = this.#fileJson.length === 0 ? json : `${this.#fileJson},${json}`;
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

  /**
   * The `results` object as UTF-8 JSON, file keys in code-unit order (the
   * default sort), so answers are stable whatever order rg's threads finish
   * in. Built once: `finish()` builds it as soon as rg's output ends, while
   * the agent still waits to hear that rg exited.
   */
  resultsBuffer(): Buffer {
    this.#flush();
    if (this.#results !== null && this.#resultsFiles === this.#done.size && this.#resultsMatches === this.totalMatches) {
      return this.#results;
    }
    const keys = [...this.#done.keys()].sort();
    const parts: Buffer[] = new Array(keys.length + 2);
    let length = 2 + Math.max(0, keys.length - 1);
    for (let i = 0; i < keys.length; i++) {
      const part = this.#done.get(keys[i] as string) as Buffer;
      parts[i + 1] = part;
      length += part.length;
    }
    // One copy into one buffer; the commas between files are written in place.
    const out = Buffer.allocUnsafe(length);
    out[0] = 0x7b; // {
    let pos = 1;
    for (let i = 1; i <= keys.length; i++) {
      if (i > 1) out[pos++] = 0x2c; // ,
      const part = parts[i] as Buffer;
      out.set(part, pos);
      pos += part.length;
    }
    out[pos] = 0x7d; // }
    this.#results = out;
    this.#resultsFiles = this.#done.size;
    this.#resultsMatches = this.totalMatches;
    return out;
  }

  /** rg's output ended: the results are final, build their JSON now. */
  finish(): void {
    this.resultsBuffer();
  }

  /** The `results` object as JSON. */
  resultsJson(): string {
    return this.resultsBuffer().toString('utf8');
  }
}
