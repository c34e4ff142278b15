// GNU sparse files: a file's data segments stored one after another, with a map of where each belongs; the
// rest of the file is holes. GNU tar writes them with `--sparse`: in its default format as entry type `S` (the
// map in the header and in extension blocks after it), in pax format as format 1.0 (the map at the start of the
// data, the real name in `GNU.sparse.name`) or 0.1 (the map in `GNU.sparse.map`). The map is untrusted like
// every other field: segments must be in order, inside the file and add up to the data stored, else TarError.
import { ftruncateSync, writeSync } from 'node:fs';
import type { ChunkReader } from './chunk-reader.js';
import { BLOCK, number, shown, TarError } from './tar-format.js';

/** One data segment of a sparse file: `length` bytes at `offset`; the data holds them in map order. */
export interface SparseSegment {
  offset: number;
  length: number;
}

/** More segments than this is hostile (a map costs memory before any data is read): 4 KiB blocks of 1 GiB. */
export const MAX_SPARSE_SEGMENTS = 262_144;

/** Sparse maps are decimal numbers in format 1.0's data: one longer than this is no number. */
const MAX_DIGITS = 20;

function tooMany(name: string): TarError {
  return new TarError(`sparse file '${shown(name)}' has more than ${MAX_SPARSE_SEGMENTS} segments`);
}

/** Segments of an old GNU map (4 in the header at `at`, 21 in each extension block); an empty offset ends it. */
function oldGnuSegments(block: Buffer, at: number, count: number, out: SparseSegment[], name: string, what: string): void {
  for (let i = 0; i < count; i++) {
    const base = at + i * 24;
    if ((block[base] ?? 0) === 0) return;
    if (out.length >= MAX_SPARSE_SEGMENTS) throw tooMany(name);
    out.push({ offset: number(block, base, 12, what), length: number(block, base + 12, 12, what) });
  }
}

/** The map of an entry of type `S`: its header's, then each extension block's while the previous says more. */
export async function oldGnuSparse(
  header: Buffer,
  reader: ChunkReader,
  name: string,
  what: string,
): Promise<{ segments: SparseSegment[]; realSize: number }> {
  const segments: SparseSegment[] = [];
  oldGnuSegments(header, 386, 4, segments, name, what);
  let extended = (header[482] ?? 0) !== 0;
  while (extended) {
    const block = await reader.exactly(BLOCK);
    if (block === null) throw new TarError(`the ${what} ends in the middle of an entry`);
    oldGnuSegments(block, 0, 21, segments, name, what);
    extended = (block[504] ?? 0) !== 0;
  }
  return { segments, realSize: number(header, 483, 12, what) };
}

/** Format 0.1's map: `GNU.sparse.map` = `offset,length,offset,length…`. */
export function paxMapSegments(map: string, name: string): SparseSegment[] {
  const fields = map === '' ? [] : map.split(',');
  if (fields.length % 2 !== 0) throw new TarError(`sparse file '${shown(name)}' has a malformed map`);
  if (fields.length / 2 > MAX_SPARSE_SEGMENTS) throw tooMany(name);
  const values = fields.map((f) => decimal(f, name));
  const out: SparseSegment[] = [];
  for (let i = 0; i < values.length; i += 2) out.push({ offset: values[i] as number, length: values[i + 1] as number });
  return out;
}

function decimal(field: string, name: string): number {
  if (!/^\d+$/.test(field) || field.length > MAX_DIGITS) throw new TarError(`sparse file '${shown(name)}' has a malformed map`);
  return Number(field);
}

/**
 * Format 1.0's map, at the start of the entry's data: decimal lines (the count, then offset and length of each
 * segment), padded to a block. Gives the segments and the bytes the map took (whole blocks).
 */
export async function pax1Segments(
  reader: ChunkReader,
  stored: number,
  name: string,
): Promise<{ segments: SparseSegment[]; mapBytes: number }> {
  let mapBytes = 0;
  let text = '';
  let pos = 0;
  const line = async (): Promise<number> => {
    for (;;) {
      const end = text.indexOf('\n', pos);
      if (end >= 0) {
        const value = decimal(text.slice(pos, end), name);
        pos = end + 1;
        return value;
      }
      if (text.length - pos > MAX_DIGITS || mapBytes + BLOCK > stored)
        throw new TarError(`sparse file '${shown(name)}' has a malformed map`);
      const block = await reader.exactly(BLOCK);
      if (block === null) throw new TarError(`sparse file '${shown(name)}' ends in its map`);
      mapBytes += BLOCK;
      // Only what is left of the previous block is kept: a long map never grows the buffer.
      text = text.slice(pos) + block.toString('latin1');
      pos = 0;
    }
  };
  const count = await line();
  if (count > MAX_SPARSE_SEGMENTS) throw tooMany(name);
  const segments: SparseSegment[] = [];
  for (let i = 0; i < count; i++) segments.push({ offset: await line(), length: await line() });
  return { segments, mapBytes };
}

/**
 * Refuses a map that is not a sparse file's: segments out of order or overlapping, past the real size, or
 * adding up to other than the data stored (GNU tar would read the next entry's header as data, or stop short).
 */
export function checkSparseMap(segments: SparseSegment[], realSize: number, stored: number, name: string): void {
  const bad = (why: string) => new TarError(`sparse file '${shown(name)}' has a bad map: ${why}`);
  if (!Number.isSafeInteger(realSize) || realSize < 0) throw bad('its size is invalid');
  let end = 0;
  let total = 0;
  for (const { offset, length } of segments) {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) throw bad('a segment is out of range');
    if (offset < end) throw bad('its segments overlap or are out of order');
    end = offset + length;
    if (end > realSize) throw bad('a segment ends past the end of the file');
    total += length;
  }
  if (total !== stored) throw bad(`its segments hold ${total} bytes, the entry ${stored}`);
}

/**
 * Writes a regular file's data into `fd` (opened for writing, empty) as the reader hands it over: in order for
 * a plain file; for a sparse one each segment at its offset and the file then lengthened to its real size, so
 * that its holes stay holes.
 */
export async function writeEntryData(
  fd: number,
  entry: { size: number; sparse?: SparseSegment[] },
  data: () => AsyncGenerator<Buffer>,
): Promise<void> {
  if (entry.sparse === undefined) {
    for await (const piece of data()) writeSync(fd, piece);
    return;
  }
  const segments = entry.sparse;
  let index = 0;
  let into = 0;
  for await (const piece of data()) {
    let at = 0;
    while (at < piece.length) {
      const segment = segments[index];
      // checkSparseMap made the map add up to the data: there is always a segment for a byte.
      if (segment === undefined) throw new TarError('a sparse file holds more data than its map');
      const take = Math.min(segment.length - into, piece.length - at);
      writeSync(fd, piece, at, take, segment.offset + into);
      at += take;
      into += take;
      if (into === segment.length) {
        index++;
        into = 0;
      }
    }
  }
  ftruncateSync(fd, entry.size);
}
