// The shared tar reader on archives GNU tar writes (ustar, GNU long names, pax; plain, gzip, zstd) and on
// damaged or hostile ones: every entry as tar lists it, the digest of the whole stream, clear refusals.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTar, readTarFile, type TarEntry, TarError, walkTarFile } from '../src/index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'cove-archive-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LONG = `${'deep/'.repeat(30)}file-with-a-name-past-the-header`;

/** A small tree: a file under a 180-byte path, a symlink, a hard link, an empty directory. */
function tree(): string {
  const root = path.join(work, 'tree');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(path.join(root, path.dirname(LONG)), { recursive: true });
  writeFileSync(path.join(root, LONG), 'long\n');
  writeFileSync(path.join(root, 'a'), 'x'.repeat(1500));
  symlinkSync('a', path.join(root, 'link'));
  execFileSync('ln', [path.join(root, 'a'), path.join(root, 'hard')]);
  mkdirSync(path.join(root, 'empty'));
  return root;
}

function tarFile(name: string, args: string[]): string {
  const file = path.join(work, name);
  execFileSync('tar', ['--create', `--file=${file}`, '--sort=name', ...args, '--directory', tree(), '.']);
  return file;
}

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function entriesOf(bytes: Buffer, chunkSize = 700): Promise<{ entries: TarEntry[]; digest: string }> {
  const entries: TarEntry[] = [];
  const digest = await readTar(chunks(bytes, chunkSize), (e) => void entries.push(e), { what: 'layer' });
  return { entries, digest };
}

describe('readTar', () => {
  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    it(`reads GNU tar's ${format} format as tar lists it, in chunks of any size; the digest is the stream's sha256`, async () => {
      // ustar cannot hold the long name: that tree has the rest.
      const file = tarFile(`t-${format}.tar`, [`--format=${format}`, ...(format === 'ustar' ? ['--exclude=./deep'] : [])]);
      const bytes = readFileSync(file);
      const listed = execFileSync('tar', ['--list', `--file=${file}`], { encoding: 'utf8' })
        .trim()
        .split('\n');
      for (const size of [1, 511, 4096, bytes.length]) {
        const { entries, digest } = await entriesOf(bytes, size);
        expect(entries.map((e) => e.path)).toEqual(listed);
        expect(digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
      }
      const { entries } = await entriesOf(bytes);
      const byPath = new Map(entries.map((e) => [e.path.replace(/^\.\//, '').replace(/\/$/, ''), e]));
      expect(byPath.get('link')).toMatchObject({ type: 'symlink', linkPath: 'a' });
      expect(byPath.get('hard')).toMatchObject({ type: 'link', linkPath: './a' });
      expect(byPath.get('a')).toMatchObject({ type: 'file', size: 1500 });
      expect(byPath.get('empty')).toMatchObject({ type: 'dir' });
      if (format !== 'ustar') expect(byPath.get(LONG)).toMatchObject({ type: 'file', size: 5 });
    });
  }

  it("hands over a file's data in pieces, whatever the chunks", async () => {
    const bytes = readFileSync(tarFile('data.tar', ['--format=gnu']));
    const data = new Map<string, string>();
    await readTar(
      chunks(bytes, 333),
      async (entry, read) => {
        if (entry.type !== 'file') return;
        const parts: Buffer[] = [];
        for await (const piece of read()) parts.push(Buffer.from(piece));
        data.set(entry.path, Buffer.concat(parts).toString());
      },
      { what: 'layer' },
    );
    expect(data.get('./a')).toBe('x'.repeat(1500));
    expect(data.get(`./${LONG}`)).toBe('long\n');
  });

  it('applies a global pax record to every entry, or refuses one naming a path when asked', async () => {
    const file = path.join(work, 'global.tar');
    execFileSync('tar', ['--create', `--file=${file}`, '--format=pax', '--pax-option=path=renamed', '--directory', tree(), 'a']);
    const bytes = readFileSync(file);
    expect((await entriesOf(bytes)).entries.map((e) => e.path)).toEqual(['renamed']);
    await expect(readTar(chunks(bytes, 512), () => {}, { what: 'archive', refuseGlobalPaths: true })).rejects.toThrow(
      new TarError('a global pax header names a path'),
    );
  });

  it('refuses a cut stream, a wrong checksum and an unknown entry type, naming the stream', async () => {
    const bytes = readFileSync(tarFile('cut.tar', ['--format=gnu']));
    await expect(entriesOf(bytes.subarray(0, 512 + 100))).rejects.toThrow(/^the layer ends in the middle of a(n entry| file)$/);
    const damaged = Buffer.from(bytes);
    damaged[0] = (damaged[0] ?? 0) ^ 1;
    await expect(entriesOf(damaged)).rejects.toThrow('not a tar layer (or a damaged one): a header checksum is wrong');
    // A GNU volume label ('V'): nothing a file system holds.
    const label = path.join(work, 'label.tar');
    execFileSync('tar', ['--create', `--file=${label}`, '--label=vol', '--directory', tree(), 'a']);
    await expect(entriesOf(readFileSync(label))).rejects.toThrow("has an unsupported type 'V'");
  });
});

describe('walkTarFile', () => {
  it('reads plain, gzip and zstd files alike, stopping at the end marker', async () => {
    const plain = tarFile('w.tar', ['--format=gnu']);
    const listed = execFileSync('tar', ['--list', `--file=${plain}`], { encoding: 'utf8' })
      .trim()
      .split('\n');
    for (const file of [plain, tarFile('w.tar.gz', ['--format=gnu', '--gzip']), tarFile('w.tar.zst', ['--format=gnu', '--zstd'])]) {
      const seen: string[] = [];
      await walkTarFile(file, (e) => void seen.push(e.path), { what: 'archive' });
      expect(seen, file).toEqual(listed);
    }
  });

  it("gives the decompressor's failure for a file that is not what its first bytes say", async () => {
    const gz = path.join(work, 'bad.tar.gz');
    writeFileSync(gz, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(600, 7)]));
    await expect(walkTarFile(gz, () => {}, { what: 'archive' })).rejects.toThrow(/^the archive is not valid gzip: /);
    const zst = path.join(work, 'bad.tar.zst');
    writeFileSync(zst, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(600, 7)]));
    await expect(walkTarFile(zst, () => {}, { what: 'archive' })).rejects.toThrow(/^the archive is not valid zstd: /);
  });

  it("stops at the first refusal of the caller's, without reading the rest", async () => {
    const file = tarFile('stop.tar.zst', ['--format=gnu', '--zstd']);
    let seen = 0;
    await expect(
      walkTarFile(
        file,
        () => {
          seen++;
          throw new TarError('refused');
        },
        { what: 'archive' },
      ),
    ).rejects.toThrow('refused');
    expect(seen).toBe(1);
  });
});

describe('readTarFile', () => {
  it("gives the uncompressed stream's digest, as readTar does", async () => {
    const plain = tarFile('r.tar', ['--format=gnu']);
    execFileSync('gzip', ['--keep', '--force', plain]);
    const gz = `${plain}.gz`;
    const digest = `sha256:${createHash('sha256').update(readFileSync(plain)).digest('hex')}`;
    expect(await readTarFile(gz, () => {}, { what: 'layer' })).toBe(digest);
    expect(await readTarFile(plain, () => {}, { what: 'layer' })).toBe(digest);
  });

  it('refuses a gzip file whose end is damaged, though every entry was read', async () => {
    const gz = readFileSync(tarFile('trailer.tar.gz', ['--format=gnu', '--gzip']));
    const damaged = path.join(work, 'trailer-damaged.tar.gz');
    // The last 8 bytes: the CRC and length of the whole stream.
    writeFileSync(damaged, Buffer.concat([gz.subarray(0, -8), Buffer.from(gz.subarray(-8)).fill(0)]));
    await expect(readTarFile(damaged, () => {}, { what: 'layer' })).rejects.toThrow(/^the layer is not valid gzip: /);
  });
});

describe('a refusal early in a large compressed file', () => {
  // Far more than the decompressor's buffers hold: the refusal must stop it, not wait on it.
  const big = path.join(work, 'big.tar');
  const refusing = () => {
    throw new TarError('refused at the first entry');
  };
  for (const [name, args] of [
    ['gzip', ['--gzip']],
    ['zstd', ['--zstd']],
  ] as const) {
    it(`${name}: settles with the refusal (readTarFile and walkTarFile)`, async () => {
      mkdirSync(path.join(work, 'big'), { recursive: true });
      writeFileSync(
        path.join(work, 'big/data'),
        Buffer.alloc(8 << 20).map((_, i) => (i * 2654435761) >>> 24),
      );
      const file = `${big}.${name}`;
      execFileSync('tar', ['--create', `--file=${file}`, ...args, '--directory', path.join(work, 'big'), 'data']);
      await expect(readTarFile(file, refusing, { what: 'layer' })).rejects.toThrow('refused at the first entry');
      await expect(walkTarFile(file, refusing, { what: 'archive' })).rejects.toThrow('refused at the first entry');
    });
  }
});
