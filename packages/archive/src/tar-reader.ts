// A streaming tar reader (ustar, pax and GNU long names): headers are parsed as they come and each file's data
// is handed over in the stream's own chunks, so a layer or an archive is never held in memory. GNU sparse files
// (tar-sparse.ts) are read as the regular files they are, with their map. The reader checks the format only; what an entry may be (a path leaving the directory, a device) is its caller's rule.
import { ChunkReader } from './chunk-reader.js';
import { BLOCK, checksumOk, ENTRY_TYPES, MAX_META, number, paxRecords, shown, type TarEntryType, TarError, text } from './tar-format.js';
import { checkSparseMap, oldGnuSparse, pax1Segments, paxMapSegments, type SparseSegment } from './tar-sparse.js';

export interface TarEntry {
  type: TarEntryType;
  /** As written in the archive (not yet made safe: that is the caller's). */
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
  /** A GNU sparse file's real name (`GNU.sparse.name`), which GNU tar extracts it as (and `path` is). */
  sparseName?: string;
  /**
   * A GNU sparse file's data segments (`size` is then its real size, holes included): the data handed over is
   * theirs, one after another (`writeEntryData` puts each where it belongs).
   */
  sparse?: SparseSegment[];
}

export type OnEntry = (entry: TarEntry, data: () => AsyncGenerator<Buffer>) => Promise<void> | void;

export interface TarReadOptions {
  /** What the stream is, for messages: `the layer ends in the middle of an entry`. */
  what: string;
  /**
   * Refuse a global pax record naming a path or link target (it would name every entry the same), rather than
   * apply it to each entry as other global records are.
   */
  refuseGlobalPaths?: boolean;
}

/**
 * Reads the tar stream entry by entry: `onEntry` gets each entry and an iterator of its data, which it may
 * consume (or leave: it is skipped). Resolves to the stream's sha256 (`sha256:…`) once every byte was read,
 * the padding after the end marker included.
 */
export async function readTar(source: AsyncIterable<Buffer>, onEntry: OnEntry, options: TarReadOptions): Promise<string> {
  const reader = new ChunkReader(source, options.what, true);
  await readEntries(reader, onEntry, options);
  await reader.drain();
  return `sha256:${reader.hash?.digest('hex')}`;
}

/** Reads every entry of the stream up to its end marker (the package's own: `readTar`, `walkTarFile`). */
export async function readEntries(reader: ChunkReader, onEntry: OnEntry, options: TarReadOptions): Promise<void> {
  const { what } = options;
  let global = new Map<string, Buffer>();
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await reader.exactly(BLOCK);
    // The end marker (two zero blocks), or a stream that stops at an entry's end.
    if (block === null || block.every((b) => b === 0)) return;
    if (!checksumOk(block, what)) throw new TarError(`not a tar ${what} (or a damaged one): a header checksum is wrong`);
    const flag = String.fromCharCode(block[156] ?? 0);
    const size = number(block, 124, 12, what);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw new TarError('a tar metadata record is too large');
      const data = Buffer.from((await reader.exactly(padded)) ?? Buffer.alloc(0)).subarray(0, size);
      if (flag === 'x') pax = paxRecords(data);
      else if (flag === 'g') {
        const records = paxRecords(data);
        if (options.refuseGlobalPaths && (records.has('path') || records.has('linkpath'))) {
          throw new TarError('a global pax header names a path');
        }
        global = new Map([...global, ...records]);
      } else if (flag === 'L') longName = text(data, 0, data.length);
      else longLink = text(data, 0, data.length);
      continue;
    }
    const records = new Map([...global, ...pax]);
    const rec = (key: string) => records.get(key)?.toString('utf8');
    // Only POSIX ustar has a name prefix: GNU's format (`ustar  `) keeps times and a sparse map there.
    const prefix = block.subarray(257, 263).toString('latin1') === 'ustar\0' ? text(block, 345, 155) : '';
    const name = text(block, 0, 100);
    const type = flag === 'S' ? 'file' : ENTRY_TYPES[flag];
    const sparseName = rec('GNU.sparse.name');
    const entry: TarEntry = {
      type: type ?? 'file',
      path: rec('path') ?? longName ?? (prefix ? `${prefix}/${name}` : name),
      linkPath: rec('linkpath') ?? longLink ?? text(block, 157, 100),
      size: rec('size') !== undefined ? Number(rec('size')) : size,
      mode: number(block, 100, 8, what),
      uid: rec('uid') !== undefined ? Number(rec('uid')) : number(block, 108, 8, what),
      gid: rec('gid') !== undefined ? Number(rec('gid')) : number(block, 116, 8, what),
      mtime: rec('mtime') !== undefined ? Math.floor(Number(rec('mtime'))) : number(block, 136, 12, what),
      devMajor: number(block, 329, 8, what),
      devMinor: number(block, 337, 8, what),
      xattrs: new Map(
        [...records].filter(([k]) => k.startsWith('SCHILY.xattr.')).map(([k, v]) => [k.slice('SCHILY.xattr.'.length), v] as const),
      ),
      ...(sparseName !== undefined ? { sparseName } : {}),
    };
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    if (type === undefined) throw new TarError(`entry '${shown(entry.path)}' has an unsupported type '${shown(flag)}'`);
    if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw new TarError(`entry '${shown(entry.path)}' has an invalid size`);
    let dataSize = entry.type === 'file' ? entry.size : 0;
    if (flag === 'S') {
      const { segments, realSize } = await oldGnuSparse(block, reader, entry.path, what);
      checkSparseMap(segments, realSize, dataSize, entry.path);
      entry.sparse = segments;
      entry.size = realSize;
    } else if (entry.type === 'file' && [...records.keys()].some((k) => k.startsWith('GNU.sparse.'))) {
      dataSize = await paxSparse(entry, records, reader, dataSize);
    }
    const dataPadded = entry.type === 'file' ? Math.ceil(dataSize / BLOCK) * BLOCK : padded;
    let consumed = false;
    await onEntry(entry, () => {
      consumed = true;
      return reader.pieces(dataSize);
    });
    if (!consumed) await reader.skip(dataSize);
    await reader.skip(dataPadded - dataSize);
  }
}

/**
 * A pax entry of a GNU sparse file, format 1.0 or 0.1 (0.0 repeats its keys, which pax records cannot hold: it
 * is refused). The entry takes its real name and size and its map; gives the bytes of data that follow.
 */
async function paxSparse(entry: TarEntry, records: Map<string, Buffer>, reader: ChunkReader, stored: number): Promise<number> {
  const rec = (key: string) => records.get(key)?.toString('utf8');
  const name = rec('GNU.sparse.name');
  const unsupported = () => new TarError(`entry '${shown(entry.path)}' is a sparse file in a GNU format not supported (only 1.0 and 0.1)`);
  if (name === undefined) throw unsupported();
  let segments: SparseSegment[];
  let realSize: string | undefined;
  let dataSize = stored;
  if (rec('GNU.sparse.major') === '1' && rec('GNU.sparse.minor') === '0') {
    const map = await pax1Segments(reader, stored, name);
    segments = map.segments;
    dataSize -= map.mapBytes;
    realSize = rec('GNU.sparse.realsize');
  } else if (rec('GNU.sparse.major') === undefined && rec('GNU.sparse.map') !== undefined) {
    segments = paxMapSegments(rec('GNU.sparse.map') as string, name);
    realSize = rec('GNU.sparse.size');
  } else throw unsupported();
  const size = realSize !== undefined && /^\d{1,20}$/.test(realSize) ? Number(realSize) : -1;
  checkSparseMap(segments, size, dataSize, name);
  entry.path = name;
  entry.sparse = segments;
  entry.size = size;
  return dataSize;
}
