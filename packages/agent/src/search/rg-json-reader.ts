import path from 'node:path';
import type { MatchCollector, Verdict } from './match-collector.js';

/** rg's JSON for a byte string: UTF-8 text as `text`, anything else base64 in `bytes`. */
interface RgData {
  text?: string;
  bytes?: string;
}

interface RgLineMessage {
  data: {
    path: RgData;
    lines: RgData;
    line_number: number | null;
    submatches?: Array<{ start: number }>;
  };
}

/** Longest JSON line handled; a longer one (a gigantic minified line) is skipped, not buffered. */
export const MAX_JSON_LINE = 64 * 1024 * 1024;

/**
 * Reads `rg --json` output as it arrives: splits it into lines and hands
 * matches and context to the collector. Only `match` and `context` lines are
 * parsed; the others are recognised by their prefix (`begin` resets per-file
 * state, `summary` proves ripgrep finished its walk). Nothing but the current
 * partial line is buffered.
 */
export class RgJsonReader {
  /** rg printed its final summary (it got to search, whatever its exit code). */
  sawSummary = false;
  /** Lines dropped because they exceeded MAX_JSON_LINE. */
  skippedLines = 0;

  readonly #collector: MatchCollector;
  readonly #prefix: string;
  readonly #fileKey: string | null;
  #rest = '';
  #skipping = false;
  #stopped = false;

  /**
   * @param root the searched path as passed to rg
   * @param rootIsDir keys are paths relative to a directory root, or the file's name
   */
  constructor(collector: MatchCollector, root: string, rootIsDir: boolean) {
    this.#collector = collector;
    this.#prefix = root === '/' ? '/' : `${root}/`;
    this.#fileKey = rootIsDir ? null : path.basename(root);
  }

  /** Feeds a decoded chunk; returns 'stop' once the collector has all it wants. */
  push(chunk: string): Verdict {
    if (this.#stopped) return 'stop';
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl !== -1) {
      let line: string;
      if (this.#skipping) {
        this.#skipping = false;
        line = '';
      } else if (this.#rest.length > 0) {
        line = this.#rest + chunk.slice(start, nl);
        this.#rest = '';
      } else {
        line = chunk.slice(start, nl);
      }
      if (line.length > 0 && this.#line(line) === 'stop') {
        this.#stopped = true;
        return 'stop';
      }
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (start < chunk.length && !this.#skipping) {
      this.#rest += chunk.slice(start);
      if (this.#rest.length > MAX_JSON_LINE) {
        this.#rest = '';
        this.#skipping = true;
        this.skippedLines++;
      }
    }
    return 'continue';
  }

  #line(line: string): Verdict {
    // Every message but the summary starts with `{"type":"<kind>"`; the
    // character at index 9 tells the kinds apart without parsing.
    if (line.startsWith('{"type":"')) {
      const kind = line.charCodeAt(9);
      if (kind === 0x6d /* m */ && line.startsWith('match"', 9)) return this.#matchOrContext(line, true);
      if (kind === 0x63 /* c */ && line.startsWith('context"', 9)) return this.#matchOrContext(line, false);
      if (kind === 0x62 /* b */) return this.#collector.beginFile();
      if (kind === 0x73 /* s */) this.sawSummary = true;
      return 'continue';
    }
    if (line.endsWith('"type":"summary"}')) this.sawSummary = true;
    return 'continue';
  }

  #matchOrContext(line: string, isMatch: boolean): Verdict {
    let msg: RgLineMessage;
    try {
      msg = JSON.parse(line) as RgLineMessage;
    } catch {
      return 'continue';
    }
    const d = msg.data;
    const lineNumber = d.line_number ?? 0;
    let text: string;
    let bytes: Buffer | null = null;
    if (d.lines.text !== undefined) text = d.lines.text;
    else {
      bytes = Buffer.from(d.lines.bytes ?? '', 'base64');
      text = bytes.toString('utf8');
    }
    text = stripEol(text);
    if (!isMatch) return this.#collector.contextLine(lineNumber, text);

    const start = d.submatches?.[0]?.start ?? 0;
    let column = start + 1;
    // rg gives byte offsets; the API counts characters (UTF-16 code units).
    if (start > 0) {
      if (bytes !== null) column = bytes.subarray(0, start).toString('utf8').length + 1;
      else if (Buffer.byteLength(text) !== text.length) column = Buffer.from(text).subarray(0, start).toString('utf8').length + 1;
    }
    return this.#collector.match(this.#key(d.path), lineNumber, text, column);
  }

  #key(p: RgData): string {
    if (this.#fileKey !== null) return this.#fileKey;
    const full = p.text ?? Buffer.from(p.bytes ?? '', 'base64').toString('utf8');
    return full.startsWith(this.#prefix) ? full.slice(this.#prefix.length) : full;
  }
}

function stripEol(text: string): string {
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 0x0a) end--;
  if (end > 0 && text.charCodeAt(end - 1) === 0x0d) end--;
  return end === text.length ? text : text.slice(0, end);
}
