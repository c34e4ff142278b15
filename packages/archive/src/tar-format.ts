// The tar header format as GNU tar, Docker and Go write it: 512-byte blocks, octal (or GNU base-256) numbers,
// ustar name prefixes, pax records and GNU long names. Everything here reads untrusted bytes: a malformed
// field is a `TarError`, never a guess.

/** A tar stream (an archive, an image layer) that cannot be read or is refused; the message names the entry. */
export class TarError extends Error {}

export const BLOCK = 512;

/** A pax or GNU long-name record larger than this is hostile. */
export const MAX_META = 1024 * 1024;

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/**
 * Entry types a file system's tar holds; anything else (volume labels, multi-volume parts…) is refused, not
 * half-read. GNU sparse files (`S`) are regular files read with their map (tar-reader.ts).
 */
export const ENTRY_TYPES: Readonly<Record<string, TarEntryType>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/** A name or value for a message: control characters masked, cut short. */
export const shown = (s: string): string => s.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 120);

/** A NUL-terminated (or full-width) text field. */
export function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** A numeric field: octal, or GNU base-256 for values octal cannot hold (large sizes and ids). */
export function number(block: Buffer, offset: number, length: number, what: string): number {
  const field = block.subarray(offset, offset + length);
  if ((field[0] ?? 0) & 0x80) {
    let v = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + (field[i] ?? 0);
    return v;
  }
  const s = text(block, offset, length).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`not a tar ${what}: a header holds '${shown(s)}' where a number belongs`);
  return Number.parseInt(s, 8);
}

export function checksumOk(block: Buffer, what: string): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  return sum === number(block, 148, 8, what);
}

/** pax records: `<length> <key>=<value>\n`, values as raw bytes (extended attributes are binary). */
export function paxRecords(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number.parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) throw new TarError('a pax header is malformed');
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.set(record.subarray(0, eq).toString('utf8'), record.subarray(eq + 1));
    pos += len;
  }
  return out;
}
