// Tar archives written entry by entry, hostile ones included (names with `..`, links anywhere, devices): what a
// real tool would refuse to make, for the tests of what Cove refuses to unpack.

export interface TarEntrySpec {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char';
  data?: Buffer | string;
  /** A symlink's or hard link's target. */
  link?: string;
  mode?: number;
  /** The size the header claims, when it is to differ from the data's (an archive cut short, or lying). */
  declaredSize?: number;
  /** A GNU sparse file (type `S`, GNU's format): its map (up to 4 segments of the data) and real size. */
  sparse?: { map: Array<[offset: number, length: number]>; realSize: number };
}

const TYPE_FLAG = { file: '0', link: '1', symlink: '2', char: '3', dir: '5' } as const;

function header(entry: TarEntrySpec, size: number): Buffer {
  const b = Buffer.alloc(512);
  const put = (offset: number, length: number, text: string) => b.write(text.slice(0, length), offset, 'utf8');
  const num = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  const type = entry.type ?? 'file';
  put(0, 100, entry.name);
  num(100, 8, entry.mode ?? (type === 'dir' ? 0o755 : 0o644));
  num(108, 8, 0);
  num(116, 8, 0);
  num(124, 12, size);
  num(136, 12, 1_700_000_000);
  put(148, 8, '        ');
  put(156, 1, entry.sparse ? 'S' : TYPE_FLAG[type]);
  put(157, 100, entry.link ?? '');
  if (entry.sparse) {
    // GNU's own header: its magic, and the map where POSIX keeps a name prefix.
    put(257, 8, 'ustar  \0');
    entry.sparse.map.forEach(([offset, length], i) => {
      num(386 + i * 24, 12, offset);
      num(398 + i * 24, 12, length);
    });
    num(483, 12, entry.sparse.realSize);
  } else {
    put(257, 6, 'ustar\0');
    put(263, 2, '00');
  }
  let sum = 0;
  for (const byte of b) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return b;
}

/** A plain (uncompressed) tar of `entries`, in order. */
export function tarOf(entries: TarEntrySpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.type === undefined || entry.type === 'file' ? Buffer.from(entry.data ?? '') : Buffer.alloc(0);
    parts.push(header(entry, entry.declaredSize ?? data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
