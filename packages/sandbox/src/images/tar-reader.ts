// A streaming tar reader (ustar, pax and GNU long names) for image layers: headers are parsed as they come and
// each file's data is handed over in the stream's own chunks, so a layer is never held in memory. Every byte
// read is hashed: a layer's diff id is the sha256 of the whole uncompressed tar.
import { createHash, type Hash } from 'node:crypto';

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  type: TarEntryType;
  /** As written in the archive (not yet made safe: see unpack-layer.ts). */
  path: string;
  /** The target of a symlink or hard link. */
  linkPath: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  devMajor: number;
  devMinor: number;
  /** Extended attributes from pax records (`SCHILY.xattr.*`), values as bytes. */
  xattrs: Map<string, Buffer>;
}

export class TarError extends Error {}

const BLOCK = 512;

/** Reads exact byte counts from an async stream of chunks, hashing everything it pulls. */
class ChunkReader {
  readonly #source: AsyncIterator<Buffer>;
  readonly hash: Hash = createHash('sha256');
  #chunk: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#source.next();
    if (next.done) {
      this.#done = true;
      return false;
    }
    const value = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.hash.update(value);
    this.#chunk = this.#chunk.length === 0 ? value : Buffer.concat([this.#chunk, value]);
    return true;
  }

  /** Exactly n bytes; null at a clean end of the stream (nothing left), an error on a cut one. */
  async exactly(n: number): Promise<Buffer | null> {
    while (this.#chunk.length < n) {
      if (!(await this.#fill())) {
        if (this.#chunk.length === 0) return null;
        throw new TarError('the layer ends in the middle of an entry');
      }
    }
    const out = this.#chunk.subarray(0, n);
    this.#chunk = this.#chunk.subarray(n);
    return out;
  }

  /** n bytes in pieces as they arrive (each valid until the next piece is asked for). */
  async *pieces(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#chunk.length === 0 && !(await this.#fill())) throw new TarError('the layer ends in the middle of a file');
      const take = Math.min(left, this.#chunk.length);
      const piece = this.#chunk.subarray(0, take);
      this.#chunk = this.#chunk.subarray(take);
      left -= take;
      yield piece;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.pieces(n)) {
      // discarded
    }
  }

  /** Reads what is left (tar padding after the end marker): the diff id covers it too. */
  async drain(): Promise<void> {
    this.#chunk = Buffer.alloc(0);
    while (await this.#fill()) this.#chunk = Buffer.alloc(0);
  }
}

function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

function number(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  // GNU base-256 for values that do not fit in octal (large sizes and ids).
  if ((field[0] ?? 0) & 0x80) {
    let v = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + (field[i] ?? 0);
    return v;
  }
  const s = text(block, offset, length).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`invalid number '${s}' in a tar header`);
  return Number.parseInt(s, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  return sum === number(block, 148, 8);
}

/** pax records: `<length> <key>=<value>\n`, values raw bytes. */
function paxRecords(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number.parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) throw new TarError('invalid pax header');
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.set(record.subarray(0, eq).toString('utf8'), record.subarray(eq + 1));
    pos += len;
  }
  return out;
}

const TYPES: Record<string, TarEntryType> = {
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

/** Limits on metadata records (a pax header of gigabytes is hostile). */
const MAX_META = 1024 * 1024;

/**
 * Reads the tar stream entry by entry: `onEntry` gets each entry and an iterator of its data, which it must
 * consume (or leave: it is skipped). Resolves to the stream's sha256 (`sha256:…`) once every byte was read.
 */
export async function readTar(
  source: AsyncIterable<Buffer>,
  onEntry: (entry: TarEntry, data: () => AsyncGenerator<Buffer>) => Promise<void> | void,
): Promise<string> {
  const reader = new ChunkReader(source);
  let global = new Map<string, Buffer>();
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await reader.exactly(BLOCK);
    if (block === null) break;
    if (block.every((b) => b === 0)) {
      // The end marker (two zero blocks); anything after it still counts for the digest.
      await reader.drain();
      break;
    }
    if (!checksumOk(block)) throw new TarError('a tar header has a wrong checksum (not a tar layer, or a damaged one)');
    const flag = String.fromCharCode(block[156] ?? 0);
    const size = number(block, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw new TarError('a tar metadata record is too large');
      const data = Buffer.from((await reader.exactly(padded)) ?? Buffer.alloc(0)).subarray(0, size);
      if (flag === 'x') pax = paxRecords(data);
      else if (flag === 'g') global = new Map([...global, ...paxRecords(data)]);
      else if (flag === 'L') longName = text(data, 0, data.length);
      else longLink = text(data, 0, data.length);
      continue;
    }
    const records = new Map([...global, ...pax]);
    const rec = (key: string) => records.get(key)?.toString('utf8');
    const prefix = block.subarray(257, 263).toString('ascii').startsWith('ustar') ? text(block, 345, 155) : '';
    const name = text(block, 0, 100);
    const type = TYPES[flag];
    const entry: TarEntry = {
      type: type ?? 'file',
      path: rec('path') ?? longName ?? (prefix ? `${prefix}/${name}` : name),
      linkPath: rec('linkpath') ?? longLink ?? text(block, 157, 100),
      size: rec('size') !== undefined ? Number(rec('size')) : size,
      mode: number(block, 100, 8),
      uid: rec('uid') !== undefined ? Number(rec('uid')) : number(block, 108, 8),
      gid: rec('gid') !== undefined ? Number(rec('gid')) : number(block, 116, 8),
      mtime: rec('mtime') !== undefined ? Math.floor(Number(rec('mtime'))) : number(block, 136, 12),
      devMajor: number(block, 329, 8),
      devMinor: number(block, 337, 8),
      xattrs: new Map(
        [...records].filter(([k]) => k.startsWith('SCHILY.xattr.')).map(([k, v]) => [k.slice('SCHILY.xattr.'.length), v] as const),
      ),
    };
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw new TarError(`invalid size for '${entry.path}'`);
    // Unknown entry types (GNU sparse, volume headers…) are refused rather than half-understood.
    if (type === undefined) throw new TarError(`unsupported tar entry type '${flag}' for '${entry.path}'`);
    const dataSize = entry.type === 'file' ? entry.size : 0;
    const dataPadded = entry.type === 'file' ? Math.ceil(entry.size / BLOCK) * BLOCK : padded;
    let consumed = false;
    await onEntry(entry, () => {
      consumed = true;
      return reader.pieces(dataSize);
    });
    if (!consumed) await reader.skip(dataSize);
    await reader.skip(dataPadded - dataSize);
  }
  return `sha256:${reader.hash.digest('hex')}`;
}
