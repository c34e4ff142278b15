/**
 * Extracts what the search needs from one `match` or `context` line of
 * `rg --json`, straight from the bytes and without building the whole
 * object: JSON.parse of every line (and decoding every line to a string)
 * costs more CPU than ripgrep's own search. ripgrep writes these messages
 * with a fixed field order:
 *
 *   {"type":"match","data":{"path":{"text":"…"},"lines":{"text":"…"},
 *    "line_number":N,"absolute_offset":N,"submatches":[{"match":{…},"start":S,"end":E},…]}}
 *
 * where a `text` field becomes `bytes` (base64) for data that is not UTF-8.
 * Each field is checked where it must be, strings are skipped by finding
 * their closing (unescaped) quote. Anything unexpected falls back to
 * JSON.parse, so an rg that orders fields differently still works.
 */

export interface RgLine {
  /** The path field's bytes as rg wrote them (escaped JSON string content, or base64). */
  pathStart: number;
  pathEnd: number;
  pathBase64: boolean;
  /** The path, when the line had to be parsed the slow way. */
  pathText?: string;
  /** The line's text, unescaped, with its line break. */
  text: string;
  /** The line's bytes, when rg sent them base64 (not UTF-8). */
  bytes: Buffer | null;
  /** Every character of the line is one byte (ASCII): byte offsets are character offsets. */
  ascii: boolean;
  /**
   * Only with `lean`: the line is ASCII and needs no escape in JSON (its only
   * escape was the final `\n`); `text` is then given without its line break,
   * and JSON.stringify(text) is `"${text}"`.
   */
  plain: boolean;
  lineNumber: number;
  /** Byte offset of the first submatch in the line (0 for context lines). */
  start: number;
}

const MATCH_PREFIX = Buffer.from('{"type":"match","data":{"path":{"');
const CONTEXT_PREFIX = Buffer.from('{"type":"context","data":{"path":{"');
const LINES_SEP = Buffer.from('},"lines":{"');
const TEXT_KEY = Buffer.from('text":"');
const BYTES_KEY = Buffer.from('bytes":"');
const LINE_NUMBER = Buffer.from('},"line_number":');
const OFFSET = Buffer.from(',"absolute_offset":');
const SUBMATCH = Buffer.from(',"submatches":[{"match":{"');
const START = Buffer.from('},"start":');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether `buf[pos..]` starts with `bytes`. */
export function startsWithAt(buf: Buffer, pos: number, bytes: Buffer): boolean {
  if (pos + bytes.length > buf.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[pos + i] !== bytes[i]) return false;
  return true;
}

/**
 * Parses the `match` (isMatch) or `context` line `buf[s..e)`; null if rg could not have written it.
 * With `lean`, a plain line (see RgLine.plain) is decoded without its line break.
 */
export function parseRgLine(buf: Buffer, s: number, e: number, isMatch: boolean, lean = false): RgLine | null {
  const prefix = isMatch ? MATCH_PREFIX : CONTEXT_PREFIX;
  if (!startsWithAt(buf, s, prefix)) return slowParse(buf, s, e);
  if (!readField(buf, s + prefix.length, e)) return slowParse(buf, s, e);
  const pathStart = fieldFrom;
  const pathEnd = fieldEnd;
  const pathBase64 = fieldBase64;
  if (!startsWithAt(buf, pathEnd + 1, LINES_SEP) || !readField(buf, pathEnd + 1 + LINES_SEP.length, e)) return slowParse(buf, s, e);
  const linesFrom = fieldFrom;
  const linesEnd = fieldEnd;
  const linesBase64 = fieldBase64;

  // Then, in this order: `},"line_number":N,"absolute_offset":N,"submatches":[{"match":{"text":"…"},"start":S`.
  let p = linesEnd + 1;
  if (!startsWithAt(buf, p, LINE_NUMBER)) return slowParse(buf, s, e);
  p += LINE_NUMBER.length;
  const lineNumber = readInt(buf, p, e);
  let start = 0;
  if (isMatch) {
    p = skipInt(buf, p, e);
    if (!startsWithAt(buf, p, OFFSET)) return slowParse(buf, s, e);
    p = skipInt(buf, p + OFFSET.length, e);
    if (!startsWithAt(buf, p, SUBMATCH)) return slowParse(buf, s, e);
    if (!readField(buf, p + SUBMATCH.length, e) || !startsWithAt(buf, fieldEnd + 1, START)) return slowParse(buf, s, e);
    start = readInt(buf, fieldEnd + 1 + START.length, e);
  }

  let text: string;
  let bytes: Buffer | null = null;
  let ascii = false;
  if (lean && !linesBase64) {
    // Most lines: ASCII, no quote, backslash or control character, ending in `\n` (escaped).
    const last = linesEnd - 2;
    if (last >= linesFrom && buf[last] === BACKSLASH && buf[last + 1] === 0x6e /* n */) {
      let i = linesFrom;
      while (i < last) {
        const c = buf[i] as number;
        if (c >= 0x80 || c === BACKSLASH) break;
        i++;
      }
      if (i === last) {
        text = buf.toString('latin1', linesFrom, last);
        return { pathStart, pathEnd, pathBase64, text, bytes, ascii: true, plain: true, lineNumber, start };
      }
    }
  }
  if (linesBase64) {
    bytes = Buffer.from(buf.toString('latin1', linesFrom, linesEnd), 'base64');
    text = bytes.toString('utf8');
  } else {
    const raw = buf.toString('utf8', linesFrom, linesEnd);
    // As many characters as bytes: no multi-byte sequence (escapes are ASCII too).
    ascii = raw.length === linesEnd - linesFrom;
    text = unescapeJson(raw);
  }
  return { pathStart, pathEnd, pathBase64, text, bytes, ascii, plain: false, lineNumber, start };
}

/** Decodes a path field of `buf` to text (lossy for paths that are not UTF-8). */
export function decodePath(buf: Buffer, line: RgLine): string {
  if (line.pathText !== undefined) return line.pathText;
  if (line.pathBase64) return Buffer.from(buf.toString('latin1', line.pathStart, line.pathEnd), 'base64').toString('utf8');
  return unescapeJson(buf.toString('utf8', line.pathStart, line.pathEnd));
}

// readField's results: module-level scratch, so parsing a line allocates nothing but its text.
let fieldFrom = 0;
let fieldEnd = 0;
let fieldBase64 = false;

/** Reads `text":"…"` or `bytes":"…"` at `pos` into the scratch fields; false if it is not there. */
function readField(buf: Buffer, pos: number, limit: number): boolean {
  let from: number;
  if (startsWithAt(buf, pos, TEXT_KEY)) {
    fieldBase64 = false;
    from = pos + TEXT_KEY.length;
  } else if (startsWithAt(buf, pos, BYTES_KEY)) {
    fieldBase64 = true;
    from = pos + BYTES_KEY.length;
  } else {
    return false;
  }
  let q = buf.indexOf(QUOTE, from);
  // A quote preceded by an odd number of backslashes is escaped.
  while (q !== -1 && q < limit) {
    let backslashes = 0;
    for (let i = q - 1; i >= from && buf[i] === BACKSLASH; i--) backslashes++;
    if ((backslashes & 1) === 0) {
      fieldFrom = from;
      fieldEnd = q;
      return true;
    }
    q = buf.indexOf(QUOTE, q + 1);
  }
  return false;
}

function skipInt(buf: Buffer, pos: number, limit: number): number {
  let i = pos;
  while (i < limit && (buf[i] as number) >= 48 && (buf[i] as number) <= 57) i++;
  return i;
}

function readInt(buf: Buffer, pos: number, limit: number): number {
  let n = 0;
  for (let i = pos; i < limit; i++) {
    const c = (buf[i] as number) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

/** The content of a JSON string. Most lines carry one escape, their trailing `\n`: handled without a parse. */
export function unescapeJson(raw: string): string {
  const bs = raw.indexOf('\\');
  if (bs === -1) return raw;
  if (bs === raw.length - 2 && raw.charCodeAt(bs + 1) === 0x6e /* n */) return `${raw.slice(0, bs)}\n`;
  return JSON.parse(`"${raw}"`) as string;
}

interface RgJsonData {
  text?: string;
  bytes?: string;
}

function slowParse(buf: Buffer, s: number, e: number): RgLine | null {
  let msg: {
    data?: { path?: RgJsonData; lines?: RgJsonData; line_number?: number | null; submatches?: Array<{ start?: number }> };
  };
  try {
    msg = JSON.parse(buf.toString('utf8', s, e));
  } catch {
    return null;
  }
  const d = msg.data;
  if (!d?.path || !d.lines) return null;
  const pathText = d.path.text ?? Buffer.from(d.path.bytes ?? '', 'base64').toString('utf8');
  let text: string;
  let bytes: Buffer | null = null;
  if (d.lines.text !== undefined) text = d.lines.text;
  else {
    bytes = Buffer.from(d.lines.bytes ?? '', 'base64');
    text = bytes.toString('utf8');
  }
  return {
    pathStart: 0,
    pathEnd: 0,
    pathBase64: false,
    pathText,
    text,
    bytes,
    ascii: false,
    plain: false,
    lineNumber: d.line_number ?? 0,
    start: d.submatches?.[0]?.start ?? 0,
  };
}
