import path from 'node:path';
import type { MatchCollector, Verdict } from './match-collector.js';
import { decodePath, parseRgLine, type RgLine } from './rg-line-parser.js';

/** Longest JSON line handled; a longer one (a gigantic minified line) is skipped, not buffered. */
export const MAX_JSON_LINE = 64 * 1024 * 1024;

const NEWLINE = 0x0a;
const TYPE_PREFIX = Buffer.from('{"type":"');
const SUMMARY_SUFFIX = Buffer.from('"type":"summary"}');

/**
 * Reads `rg --json` output as it arrives, as bytes: splits it into lines and
 * hands matches and context to the collector. Only `match` and `context`
 * lines are looked into (and only the fields needed are decoded); the others
 * are told apart by one byte (`begin` and `end` delimit a file, `summary` proves
 * ripgrep finished its walk). Nothing but the current partial line is kept.
 */
export class RgJsonReader {
  /** rg printed its final summary (it got to search, whatever its exit code). */
  sawSummary = false;
  /** Lines dropped because they exceeded MAX_JSON_LINE. */
  skippedLines = 0;

  readonly #collector: MatchCollector;
  readonly #prefix: string;
  readonly #fileKey: string | null;
  #rest: Buffer[] = [];
  #restLength = 0;
  #skipping = false;
  #stopped = false;
  #lastPath: Buffer | null = null;
  #lastKey = '';

  /**
   * @param root the searched path as passed to rg
   * @param rootIsDir keys are paths relative to a directory root, or the file's name
   */
  constructor(collector: MatchCollector, root: string, rootIsDir: boolean) {
    this.#collector = collector;
    this.#prefix = root === '/' ? '/' : `${root}/`;
    this.#fileKey = rootIsDir ? null : path.basename(root);
  }

  /** Feeds a chunk of rg's stdout; returns 'stop' once the collector has all it wants. */
  push(chunk: Buffer): Verdict {
    if (this.#stopped) return 'stop';
    let start = 0;
    let nl = chunk.indexOf(NEWLINE);
    if (nl !== -1 && (this.#restLength > 0 || this.#skipping)) {
      // The line that started in an earlier chunk ends here.
      if (this.#skipping) this.#skipping = false;
      else {
        this.#rest.push(chunk.subarray(0, nl));
        const line = Buffer.concat(this.#rest);
        this.#rest = [];
        this.#restLength = 0;
        if (this.#line(line, 0, line.length) === 'stop') return this.#stop();
      }
      start = nl + 1;
      nl = chunk.indexOf(NEWLINE, start);
    }
    while (nl !== -1) {
      if (nl > start && this.#line(chunk, start, nl) === 'stop') return this.#stop();
      start = nl + 1;
      nl = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length && !this.#skipping) {
      this.#rest.push(chunk.subarray(start));
      this.#restLength += chunk.length - start;
      if (this.#restLength > MAX_JSON_LINE) {
        this.#rest = [];
        this.#restLength = 0;
        this.#skipping = true;
        this.skippedLines++;
      }
    }
    return 'continue';
  }

  #stop(): Verdict {
    this.#stopped = true;
    this.#rest = [];
    return 'stop';
  }

  #line(buf: Buffer, s: number, e: number): Verdict {
    // Every message but the summary starts with `{"type":"<kind>"`; the
    // byte after that prefix tells the kinds apart.
    if (buf[s] === 0x7b && buf[s + 1] === 0x22 && buf[s + 2] === 0x74 && e - s > 10) {
      switch (buf[s + TYPE_PREFIX.length]) {
        case 0x6d /* m */:
          return this.#matchOrContext(buf, s, e, true);
        case 0x63 /* c */:
          return this.#matchOrContext(buf, s, e, false);
        case 0x62 /* b */:
          return this.#collector.beginFile();
        case 0x65 /* e */:
          return this.#collector.endFile();
        case 0x73 /* s */:
          this.sawSummary = true;
          return 'continue';
        default:
          return 'continue';
      }
    }
    if (e - s >= SUMMARY_SUFFIX.length && buf.indexOf(SUMMARY_SUFFIX, e - SUMMARY_SUFFIX.length) !== -1) this.sawSummary = true;
    return 'continue';
  }

  #matchOrContext(buf: Buffer, s: number, e: number, isMatch: boolean): Verdict {
    const parsed = parseRgLine(buf, s, e, isMatch, true);
    if (parsed === null) return 'continue';
    const text = parsed.plain ? parsed.text : stripEol(parsed.text);
    if (!isMatch) return this.#collector.contextLine(parsed.lineNumber, text);

    const start = parsed.start;
    let column = start + 1;
    // rg gives byte offsets; the API counts characters (UTF-16 code units).
    if (start > 0 && !parsed.ascii) {
      if (parsed.bytes !== null) column = parsed.bytes.subarray(0, start).toString('utf8').length + 1;
      // The whole line, line break included: a match can start at a final `\r` (or after it, empty).
      else if (Buffer.byteLength(parsed.text) !== parsed.text.length)
        column = Buffer.from(parsed.text).subarray(0, start).toString('utf8').length + 1;
    }
    return this.#collector.match(this.#key(buf, parsed), parsed.lineNumber, text, column, parsed.plain);
  }

  /** The result key of a line's path; a file's lines come together, so the last key is reused. */
  #key(buf: Buffer, line: RgLine): string {
    if (this.#fileKey !== null) return this.#fileKey;
    if (line.pathText !== undefined) return this.#relative(line.pathText);
    const last = this.#lastPath;
    const len = line.pathEnd - line.pathStart;
    if (last !== null && last.length === len + 1 && last[len] === (line.pathBase64 ? 1 : 0)) {
      // A byte loop: paths are short, and a native compare costs more to call than to run.
      let i = len - 1;
      const base = line.pathStart;
      while (i >= 0 && last[i] === buf[base + i]) i--;
      if (i < 0) return this.#lastKey;
    }
    // Remember the raw bytes plus one byte for the encoding.
    const copy = Buffer.allocUnsafe(len + 1);
    buf.copy(copy, 0, line.pathStart, line.pathEnd);
    copy[len] = line.pathBase64 ? 1 : 0;
    this.#lastPath = copy;
    this.#lastKey = this.#relative(decodePath(buf, line));
    return this.#lastKey;
  }

  #relative(full: string): string {
    return full.startsWith(this.#prefix) ? full.slice(this.#prefix.length) : full;
  }
}

function stripEol(text: string): string {
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 0x0a) end--;
  if (end > 0 && text.charCodeAt(end - 1) === 0x0d) end--;
  return end === text.length ? text : text.slice(0, end);
}
