// GNU sparse files as GNU tar writes them (`--sparse`: type `S` in its own format, pax formats 1.0 and 0.1):
// read with their map and real size, written back with their holes; hostile maps refused.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTar, readTarFile, type TarEntry, writeEntryData } from '../src/index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'cove-sparse-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const GIB = 1024 * 1024 * 1024;

/** A 1 GiB file with a few KiB of data (at its start, its middle, its end), a file all hole, a plain one. */
function sparseTree(): string {
  const root = path.join(work, 'tree');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root);
  const big = path.join(root, 'big');
  writeFileSync(big, 'head');
  const fd = openSync(big, 'r+');
  try {
    execFileSync('truncate', ['-s', String(GIB), big]);
    writeAt(fd, 'middle', 500_000_000);
    writeAt(fd, 'tail', GIB - 4);
  } finally {
    closeSync(fd);
  }
  execFileSync('truncate', ['-s', '10M', path.join(root, 'hole')]);
  writeFileSync(path.join(root, 'plain'), 'plain\n');
  return root;
}

/** Writes `text` at `at` (the file keeps its holes around it). */
function writeAt(fd: number, text: string, at: number): void {
  const buf = Buffer.from(text);
  writeSync(fd, buf, 0, buf.length, at);
}

/** The tree's tar as GNU tar writes it with `--sparse` and the given options. */
function sparseTar(name: string, options: string[]): string {
  const file = path.join(work, name);
  execFileSync('tar', ['--create', `--file=${file}`, '--sort=name', '--sparse', ...options, '--directory', sparseTree(), '.']);
  return file;
}

/** Unpacks every regular file of the tar below `dest` with `writeEntryData`; gives the entries. */
async function unpack(file: string, dest: string): Promise<TarEntry[]> {
  mkdirSync(dest, { recursive: true });
  const entries: TarEntry[] = [];
  await readTarFile(
    file,
    async (entry, data) => {
      entries.push(entry);
      if (entry.type !== 'file') return;
      const fd = openSync(path.join(dest, path.basename(entry.path)), 'wx');
      try {
        await writeEntryData(fd, entry, data);
      } finally {
        closeSync(fd);
      }
    },
    { what: 'archive' },
  );
  return entries;
}

describe('GNU sparse files', () => {
  for (const [format, options] of [
    ['gnu (type S)', ['--format=gnu']],
    ['pax 1.0', ['--format=pax', '--sparse-version=1.0']],
    ['pax 0.1', ['--format=pax', '--sparse-version=0.1']],
  ] as const) {
    it(`${format}: read with its real name and size, written back with its holes`, async () => {
      const file = sparseTar(`s-${format.replace(/\W/g, '')}.tar`, [...options]);
      // The archive holds the data, not the holes.
      expect(statSync(file).size).toBeLessThan(1024 * 1024);
      const dest = path.join(work, `out-${format.replace(/\W/g, '')}`);
      const entries = await unpack(file, dest);
      const byName = new Map(entries.map((e) => [e.path.replace(/^\.\//, ''), e]));
      expect([...byName.keys()].sort()).toEqual(['', 'big', 'hole', 'plain']);
      expect(byName.get('big')).toMatchObject({ type: 'file', size: GIB });
      expect(byName.get('big')?.sparse?.length).toBeGreaterThan(1);
      expect(byName.get('hole')).toMatchObject({ type: 'file', size: 10 * 1024 * 1024 });
      expect(byName.get('plain')).toMatchObject({ type: 'file', size: 6 });
      expect(byName.get('plain')?.sparse).toBeUndefined();
      const big = path.join(dest, 'big');
      const st = statSync(big);
      expect(st.size).toBe(GIB);
      // Holes stayed holes: a few blocks of data, not a gibibyte.
      expect(st.blocks * 512).toBeLessThan(1024 * 1024);
      const fd = openSync(big, 'r');
      try {
        const at = (pos: number, n: number) => {
          const b = Buffer.alloc(n);
          readSync(fd, b, 0, n, pos);
          return b.toString('latin1');
        };
        expect(at(0, 4)).toBe('head');
        expect(at(500_000_000, 6)).toBe('middle');
        expect(at(GIB - 4, 4)).toBe('tail');
        expect(at(4096 * 10, 4)).toBe('\0\0\0\0');
      } finally {
        closeSync(fd);
      }
      expect(statSync(path.join(dest, 'hole')).size).toBe(10 * 1024 * 1024);
      expect(readFileSync(path.join(dest, 'plain'), 'utf8')).toBe('plain\n');
    });
  }
});

/** A field of `width` bytes: octal digits and a NUL. */
function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** A GNU `S` header by hand: `map` in the header (up to 4) and `realSize`; `extended` says more blocks follow. */
function sparseHeader(name: string, stored: number, map: [number, number][], realSize: number, extended = false): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 'latin1');
  b.write(octal(0o644, 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1');
  b.write(octal(0, 8), 116, 'latin1');
  b.write(octal(stored, 12), 124, 'latin1');
  b.write(octal(0, 12), 136, 'latin1');
  b.write('S', 156, 'latin1');
  b.write('ustar  \0', 257, 'latin1');
  map.forEach(([offset, length], i) => {
    b.write(octal(offset, 12), 386 + i * 24, 'latin1');
    b.write(octal(length, 12), 398 + i * 24, 'latin1');
  });
  b[482] = extended ? 1 : 0;
  b.write(octal(realSize, 12), 483, 'latin1');
  b.write('        ', 148, 'latin1');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

const read = (bytes: Buffer) => readTar(once(bytes), () => {}, { what: 'archive' });
const END = Buffer.alloc(1024);

describe('hostile sparse maps', () => {
  it('refuses segments out of order, past the end, or adding up to other than the data stored', async () => {
    // An entry of 1024 stored bytes with the map and real size given.
    const sparse = (map: Array<[number, number]>, realSize: number) =>
      read(Buffer.concat([sparseHeader('x', 1024, map, realSize), Buffer.alloc(1024, 1), END]));
    await expect(
      sparse(
        [
          [0, 512],
          [100, 512],
        ],
        4096,
      ),
    ).rejects.toThrow("sparse file 'x' has a bad map: its segments overlap or are out of order");
    await expect(sparse([[0, 1024]], 100)).rejects.toThrow('a segment ends past the end of the file');
    await expect(sparse([[0, 512]], 4096)).rejects.toThrow('its segments hold 512 bytes, the entry 1024');
    // The well-formed one passes: what the refusals differ in is the map.
    await expect(
      sparse(
        [
          [0, 512],
          [2048, 512],
        ],
        4096,
      ),
    ).resolves.toMatch(/^sha256:/);
  });

  it('refuses a map whose extension blocks never end, and one cut short', async () => {
    const header = sparseHeader('x', 0, [[0, 0]], 10, true);
    // Extension blocks of 21 empty-length segments each, every one saying another follows.
    const ext = Buffer.alloc(512);
    for (let i = 0; i < 21; i++) {
      ext.write(octal(i + 1, 12), i * 24, 'latin1');
      ext.write(octal(0, 12), i * 24 + 12, 'latin1');
    }
    ext[504] = 1;
    const many = Buffer.concat([header, ...Array.from({ length: 12_500 }, () => ext), END]);
    await expect(read(many)).rejects.toThrow("sparse file 'x' has more than 262144 segments");
    await expect(read(Buffer.concat([header, ext]))).rejects.toThrow('the archive ends in the middle of an entry');
  });

  it('refuses pax format 0.0 (its map repeats keys), and a 1.0 map that is no number', async () => {
    const old = sparseTar('s-00.tar', ['--format=pax', '--sparse-version=0.0']);
    await expect(readTarFile(old, () => {}, { what: 'archive' })).rejects.toThrow('is a sparse file in a GNU format not supported');
    const bytes = readFileSync(sparseTar('s-10.tar', ['--format=pax', '--sparse-version=1.0']));
    // The map of `big` starts at a block: its count line, then offsets and lengths.
    const at = bytes.indexOf(Buffer.from('\n0\n4096\n'));
    expect(at).toBeGreaterThan(0);
    bytes.write('x', at - 1, 'latin1');
    await expect(read(bytes)).rejects.toThrow("sparse file './big' has a malformed map");
  });
});
