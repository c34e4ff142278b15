import { lstatSync, readdirSync } from 'node:fs';
import { SEARCH_LINE_MAX_CHARS } from '@cove/protocol';
import type { MatchCollector, Verdict } from './match-collector.js';

/**
 * Reads ripgrep's standard (text) output as it arrives, as bytes, for a
 * search of a directory. rg runs with `--null --line-number --column
 * --field-match-separator \x00 --field-context-separator \x01 --stats` (see
 * TEXT_FORMAT_ARGS), so its output is made of:
 *
 *   match    <path> NUL <line> NUL <column> NUL <text> LF
 *   match    <path> NUL <line> NUL <text> LF         (no column: see below)
 *   context  <path> NUL <line> 0x01 <text> LF
 *   `--` LF                                          (between context groups)
 *   <path> ": WARNING: stopped searching binary file after match (found "\0" byte around offset N)" LF
 *   LF, then the statistics, once the walk is over
 *
 * A path is absolute (it starts with `/`: never `-` or a line break) and has
 * no NUL; `text` has neither NUL (rg stops reading a file found while walking
 * at its first NUL) nor line break. rg leaves the column out when the only
 * match is an empty one at the very end of a line without a line break (the
 * JSON output has no submatch then: the column is 1). So a record can always
 * be told from the others, with two exceptions a file name can create:
 *
 * - a path with a line break: its first line could be a warning (or a future
 *   rg's message) followed by a record. The path must then exist (one lstat);
 * - a warning for file P, which could be the start of a path "P: WARNING…".
 *   It is one if no entry beside P starts with P's name and ": WARNING" (one
 *   readdir per directory and search).
 *
 * When the file system does not settle it, the reader says `ambiguous` and
 * stops: the search runs again with `--json`, which has no such ambiguity.
 *
 * Compared with `--json`, rg writes a third of the bytes (no per-file `begin`
 * and `end` messages, no escapes) and runs faster, and a plain ASCII line
 * goes to the answer without ever becoming a string.
 */
export class RgTextReader {
  /** rg printed its final statistics (it got to search, whatever its exit code). */
  sawSummary = false;
  /** Records dropped because they exceeded MAX_RECORD. */
  skippedLines = 0;
  /** The output could not be read with certainty: run the search again with `--json`. */
  ambiguous = false;

  readonly #collector: MatchCollector;
  readonly #prefix: string;
  #carry: Buffer[] = [];
  #carryLength = 0;
  #skipping = false;
  #stopped = false;
  /** The statistics started: nothing after them is read. */
  #trailer = false;
  /** The last record's path bytes (#lastPath[0..#lastPathLength)) and its key. */
  #lastPath = Buffer.allocUnsafeSlow(256);
  #lastPathLength = -1;
  #lastKey = '';
  /** Directories checked for entries that could pass for a warning: whether they have one. */
  readonly #lookalikes = new Map<string, boolean>();

  readonly #maxRecord: number;

  /**
   * @param root the searched directory as passed to rg (keys are paths relative to it)
   * @param maxRecord longest record kept in memory while it arrives (a longer one is skipped)
   */
  constructor(collector: MatchCollector, root: string, maxRecord = MAX_RECORD) {
    this.#collector = collector;
    this.#maxRecord = maxRecord;
    this.#prefix = root === '/' ? '/' : `${root}/`;
  }

  /** Feeds a chunk of rg's stdout; returns 'stop' once the collector has all it wants (or the output is ambiguous). */
  push(chunk: Buffer): Verdict {
    if (this.#stopped) return 'stop';
    if (this.#trailer) return 'continue';
    let buf = chunk;
    let start = 0;
    if (this.#skipping) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) return 'continue';
      this.#skipping = false;
      start = nl + 1;
    } else if (this.#carryLength > 0) {
      // A record started in an earlier chunk. It cannot end before a line break: wait for one before
      // joining the pieces, so a long line is not copied again with every chunk.
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        this.#carry.push(chunk);
        this.#carryLength += chunk.length;
        return this.#checkCarry();
      }
      // Usually the record ends at that line break: only its pieces are joined.
      this.#carry.push(chunk.subarray(0, nl + 1));
      const joined = Buffer.concat(this.#carry, this.#carryLength + nl + 1);
      const next = this.#record(joined, 0);
      if (next === STOP) return this.#stop();
      if (next > this.#carryLength) {
        // (A record ends at a line break, so here at `nl`: the carry held no complete record.)
        start = next - this.#carryLength;
        this.#carry = [];
        this.#carryLength = 0;
        if (this.#trailer) return 'continue';
      } else {
        // It goes on (a file name with a line break): the whole chunk is joined.
        this.#carry.pop();
        this.#carry.push(chunk);
        buf = Buffer.concat(this.#carry, this.#carryLength + chunk.length);
        this.#carry = [];
        this.#carryLength = 0;
      }
    }
    while (start < buf.length) {
      const next = this.#record(buf, start);
      if (next === INCOMPLETE) break;
      if (next === STOP) return this.#stop();
      start = next;
    }
    if (start < buf.length && !this.#trailer && !this.#skipping) {
      this.#carry.push(buf.subarray(start));
      this.#carryLength = buf.length - start;
      return this.#checkCarry();
    }
    return 'continue';
  }

  #checkCarry(): Verdict {
    if (this.#carryLength > this.#maxRecord) {
      // A gigantic line (minified code): dropped rather than buffered. Its end is its line break.
      this.#carry = [];
      this.#carryLength = 0;
      this.#skipping = true;
      this.skippedLines++;
    }
    return 'continue';
  }

  #stop(): Verdict {
    this.#stopped = true;
    this.#carry = [];
    this.#carryLength = 0;
    return 'stop';
  }

  /** Reads the record at `s`; returns where the next one starts, INCOMPLETE or STOP. */
  #record(buf: Buffer, s: number): number {
    const first = buf[s];
    if (first !== SLASH) {
      if (first === NL) {
        // The blank line before the statistics: the walk is over.
        this.sawSummary = true;
        this.#trailer = true;
        return buf.length;
      }
      // A context separator (`--`), or a line a future rg may add.
      const nl = buf.indexOf(NL, s);
      return nl === -1 ? INCOMPLETE : nl + 1;
    }

    // The path: usually the last record's, compared byte by byte (a native call costs more than the loop).
    let p = -1;
    const last = this.#lastPath;
    const lastLength = this.#lastPathLength;
    if (lastLength >= 0 && s + lastLength < buf.length) {
      let i = 0;
      while (i < lastLength && buf[s + i] === last[i]) i++;
      if (i === lastLength) {
        const after = buf[s + lastLength];
        if (after === NUL) p = s + lastLength;
        else if (after === COLON && startsWithAt(buf, s + lastLength, WARNING)) {
          const end = this.#warning(buf, s + lastLength + WARNING.length);
          if (end !== NOT_A_WARNING) return end;
        }
      }
    }
    let newPath = false;
    if (p === -1) {
      p = buf.indexOf(NUL, s);
      if (p === -1) return INCOMPLETE;
      newPath = true;
    }

    // <line> then NUL (a match) or 0x01 (context).
    let i = p + 1;
    let line = 0;
    let c = buf[i];
    while (c !== undefined && c >= DIGIT_0 && c <= DIGIT_9) {
      line = line * 10 + (c - DIGIT_0);
      c = buf[++i];
    }
    if (c === undefined) return INCOMPLETE;
    const isMatch = c === NUL;
    if (!isMatch && c !== CONTEXT) {
      // Not a record rg writes: skipped.
      const nl = buf.indexOf(NL, i);
      return nl === -1 ? INCOMPLETE : nl + 1;
    }
    i++;
    // A match's column: digits followed by NUL (text has no NUL, so digits that are not are text).
    let column = 1;
    if (isMatch) {
      let j = i;
      let n = 0;
      c = buf[j];
      while (c !== undefined && c >= DIGIT_0 && c <= DIGIT_9) {
        n = n * 10 + (c - DIGIT_0);
        c = buf[++j];
      }
      if (c === undefined) return INCOMPLETE;
      if (c === NUL && j > i) {
        column = n;
        i = j + 1;
      }
    }
    const nl = buf.indexOf(NL, i);
    if (nl === -1) return INCOMPLETE;

    if (newPath && this.#enterPath(buf, s, p) === 'stop') return STOP;
    const verdict = isMatch ? this.#match(buf, i, nl, line, column) : this.#context(buf, i, nl, line);
    return verdict === 'stop' ? STOP : nl + 1;
  }

  /** A record names another path than the last: check it when it has a line break, start a new file. */
  #enterPath(buf: Buffer, s: number, p: number): Verdict {
    const length = p - s;
    const nl = buf.indexOf(NL, s);
    if (nl !== -1 && nl < p) {
      // A file name with a line break, or lines that are not records before this one: the path
      // must exist, else what came before it was something else.
      let exists = false;
      try {
        exists = lstatSync(buf.subarray(s, p), { throwIfNoEntry: false }) !== undefined;
      } catch {
        exists = false;
      }
      if (!exists) {
        this.ambiguous = true;
        return 'stop';
      }
    }
    if (this.#lastPath.length < length) this.#lastPath = Buffer.allocUnsafeSlow(Math.max(length, this.#lastPath.length * 2));
    const lastPath = this.#lastPath;
    for (let i = 0; i < length; i++) lastPath[i] = buf[s + i] as number;
    this.#lastPathLength = length;
    const full = buf.toString('utf8', s, p);
    this.#lastKey = full.startsWith(this.#prefix) ? full.slice(this.#prefix.length) : full;
    // Context never crosses files.
    return this.#collector.beginFile();
  }

  #match(buf: Buffer, s: number, nl: number, line: number, column: number): Verdict {
    let e = nl;
    if (e > s && buf[e - 1] === CR) e--;
    // Plain: every byte 0x20–0x7f but the quote and the backslash. Only the part the answer keeps
    // (with ASCII, SEARCH_LINE_MAX_CHARS bytes) and the part before the column matter.
    const checkEnd = Math.min(e, s + Math.max(SEARCH_LINE_MAX_CHARS, column - 1));
    let i = s;
    while (i < checkEnd) {
      const b = buf[i] as number;
      if (b < 0x20 || b >= 0x80 || b === QUOTE || b === BACKSLASH) break;
      i++;
    }
    if (i === checkEnd) return this.#collector.matchAscii(this.#lastKey, line, column, buf, s, e);
    const text = buf.toString('utf8', s, e);
    // rg counts the column in bytes; the API in UTF-16 code units.
    if (column > 1 && text.length !== e - s) column = buf.toString('utf8', s, s + column - 1).length + 1;
    return this.#collector.match(this.#lastKey, line, text, column, false);
  }

  #context(buf: Buffer, s: number, nl: number, line: number): Verdict {
    if (!this.#collector.wantsContext) return 'continue';
    let e = nl;
    if (e > s && buf[e - 1] === CR) e--;
    return this.#collector.contextLine(line, buf.toString('utf8', s, e));
  }

  /**
   * What follows the last path and ": WARNING: … offset ": the digits, `)` and a line break make the
   * warning for the last file (next record at the returned index), unless a file name could read the
   * same. NOT_A_WARNING: some other byte, it is a path.
   */
  #warning(buf: Buffer, from: number): number {
    let i = from;
    while (i < buf.length && (buf[i] as number) >= DIGIT_0 && (buf[i] as number) <= DIGIT_9) i++;
    if (i + 1 >= buf.length) return INCOMPLETE;
    if (i === from || buf[i] !== CLOSE || buf[i + 1] !== NL) return NOT_A_WARNING;
    if (!this.#hasLookalike()) return i + 2;
    this.ambiguous = true;
    return STOP;
  }

  /** Whether the last path's directory holds an entry named like "<its name>: WARNING…" (cached per directory). */
  #hasLookalike(): boolean {
    const path = this.#lastPath.subarray(0, this.#lastPathLength);
    const slash = path.lastIndexOf(SLASH);
    const dir = path.subarray(0, Math.max(slash, 1));
    const key = dir.toString('latin1');
    let found = this.#lookalikes.get(key);
    if (found === undefined) {
      try {
        found = readdirSync(dir, { encoding: 'buffer' }).some((name) => name.includes(WARNING));
      } catch {
        found = true;
      }
      this.#lookalikes.set(key, found);
    }
    return found;
  }
}

/** rg's flags for the output RgTextReader reads (instead of `--json`). */
export const TEXT_FORMAT_ARGS: readonly string[] = [
  '--null',
  '--line-number',
  '--column',
  '--no-heading',
  '--with-filename',
  '--color',
  'never',
  '--stats',
  '--field-match-separator',
  '\\x00',
  '--field-context-separator',
  '\\x01',
];

/** Longest record handled; a longer one (a gigantic minified line) is skipped, not buffered. */
export const MAX_RECORD = 64 * 1024 * 1024;

const INCOMPLETE = -1;
const STOP = -2;
const NOT_A_WARNING = -3;
const NUL = 0x00;
const CONTEXT = 0x01;
const NL = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const SLASH = 0x2f;
const COLON = 0x3a;
const CLOSE = 0x29;
const BACKSLASH = 0x5c;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const WARNING = Buffer.from(': WARNING: stopped searching binary file after match (found "\\0" byte around offset ');

function startsWithAt(buf: Buffer, pos: number, bytes: Buffer): boolean {
  if (pos + bytes.length > buf.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[pos + i] !== bytes[i]) return false;
  return true;
}
