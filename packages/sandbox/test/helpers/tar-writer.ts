// Writes ustar archives entry by entry, exactly as given (no path cleaning): for layers made in the tests,
// hostile ones included.
export interface TarSpec {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'fifo';
  data?: string | Buffer;
  linkPath?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

const TYPE_FLAGS = { file: '0', link: '1', symlink: '2', char: '3', dir: '5', fifo: '6' } as const;

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

function header(spec: TarSpec, size: number, pathOverride?: string, flag?: string): Buffer {
  const block = Buffer.alloc(512);
  const type = spec.type ?? 'file';
  block.write(pathOverride ?? spec.path, 0, 100, 'utf8');
  block.write(octal(spec.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100, 'ascii');
  block.write(octal(spec.uid ?? 0, 8), 108, 'ascii');
  block.write(octal(spec.gid ?? 0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(1_700_000_000, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(flag ?? TYPE_FLAGS[type], 156, 'ascii');
  block.write((spec.linkPath ?? '').slice(0, 100), 157, 'utf8');
  block.write('ustar\x0000', 257, 'binary');
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)]);
}

/** A tar archive of the entries, in order (names longer than 100 bytes get a pax record). */
export function tarOf(entries: TarSpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    if (Buffer.byteLength(e.path) > 100 || Buffer.byteLength(e.linkPath ?? '') > 100) {
      const records = [`path=${e.path}`, ...(e.linkPath ? [`linkpath=${e.linkPath}`] : [])].map((kv) => {
        let len = Buffer.byteLength(kv) + 3;
        while (`${len} ${kv}\n`.length !== len) len = `${len} ${kv}\n`.length;
        return `${len} ${kv}\n`;
      });
      const pax = Buffer.from(records.join(''));
      blocks.push(header({ path: 'PaxHeader' }, pax.length, 'PaxHeader', 'x'), padded(pax));
    }
    const data = e.type === undefined || e.type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    blocks.push(header(e, data.length), padded(data));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
