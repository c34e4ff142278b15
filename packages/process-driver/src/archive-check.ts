// The check an archive passes before GNU tar unpacks it into a workspace's directory. An archive may come from
// anyone (an upload from another Cove), and the process driver unpacks it on the host as the control plane's
// user: nothing in it may land outside the directory. Every header is read (ustar, pax and GNU long names;
// gzip, zstd or none) and the archive is refused whole, before anything is written, when an entry's name or a
// hard link's target leaves the directory (`..`), goes through a symlink the archive made, when a hard link
// names nothing before it, for device nodes, unknown entry types, or content larger than the workspace's disk.
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

export class ArchiveRefused extends Error {}

const BLOCK = 512;
/** A pax or GNU long-name record larger than this is hostile. */
const MAX_META = 1024 * 1024;

function compressionOf(file: string): 'gzip' | 'zstd' | 'none' {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (n === 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    closeSync(fd);
  }
}

/** The archive's tar bytes; `done` settles once the decompressor has finished (or failed). */
function uncompressed(file: string): { stream: AsyncIterable<Buffer>; done: Promise<void>; stop: () => void } {
  const kind = compressionOf(file);
  if (kind === 'zstd') {
    // Node 20 has no zstd: Debian's.
    const child = spawn('zstd', ['-dcq', '--', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d.slice(0, 2000);
    });
    const done = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) =>
        code === 0 ? resolve() : reject(new ArchiveRefused(`not valid zstd: ${stderr.trim().slice(0, 200)}`)),
      );
    });
    return { stream: child.stdout, done, stop: () => child.kill('SIGTERM') };
  }
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  if (kind === 'none') return { stream: source, done: Promise.resolve(), stop: () => source.destroy() };
  const gunzip = createGunzip({ chunkSize: 1 << 18 });
  const done = pipeline(source, gunzip).catch((err: Error) => {
    throw new ArchiveRefused(`not valid gzip: ${err.message}`);
  });
  return { stream: gunzip, done, stop: () => gunzip.destroy() };
}

/** Reads exact byte counts from a stream of chunks. */
class Blocks {
  readonly #it: AsyncIterator<Buffer>;
  #chunk: Buffer = Buffer.alloc(0);
  #ended = false;

  /** Whether the stream has ended (its source is done). */
  get ended(): boolean {
    return this.#ended;
  }

  constructor(source: AsyncIterable<Buffer>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  /** Exactly n bytes; null at a clean end (nothing left); an error for a cut archive. */
  async take(n: number): Promise<Buffer | null> {
    while (this.#chunk.length < n) {
      const next = this.#ended ? { done: true as const, value: undefined } : await this.#it.next();
      if (next.done) {
        this.#ended = true;
        if (this.#chunk.length === 0) return null;
        throw new ArchiveRefused('the archive ends in the middle of an entry');
      }
      this.#chunk = this.#chunk.length === 0 ? next.value : Buffer.concat([this.#chunk, next.value]);
    }
    const out = this.#chunk.subarray(0, n);
    this.#chunk = this.#chunk.subarray(n);
    return out;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#chunk.length === 0) {
        const next = await this.#it.next();
        if (next.done) {
          this.#ended = true;
          throw new ArchiveRefused('the archive ends in the middle of a file');
        }
        this.#chunk = next.value;
      }
      const step = Math.min(left, this.#chunk.length);
      this.#chunk = this.#chunk.subarray(step);
      left -= step;
    }
  }
}

function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

function num(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  // GNU base-256 for values octal cannot hold.
  if ((field[0] ?? 0) & 0x80) {
    let v = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + (field[i] ?? 0);
    return v;
  }
  const s = text(block, offset, length).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new ArchiveRefused('not a tar archive (a header holds no number where one belongs)');
  return Number.parseInt(s, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  return sum === num(block, 148, 8);
}

function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number.parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) throw new ArchiveRefused('a pax header is malformed');
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

const shown = (s: string) => s.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 120);

/** A name as components below the directory (`/` and `./` prefixes dropped, as tar does); `..` refused. */
function components(raw: string, what: string): string[] {
  if (raw.includes('\0')) throw new ArchiveRefused(`${what} holds a NUL byte`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ArchiveRefused(`${what} '${shown(raw)}' leaves the directory ('..')`);
  return parts;
}

/** Entry types GNU tar writes for a file system; anything else (devices, sparse, volume labels) is refused. */
const KINDS: Record<string, 'file' | 'link' | 'symlink' | 'dir' | 'fifo' | 'device'> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'device',
  '4': 'device',
  '5': 'dir',
  '6': 'fifo',
};

/**
 * Reads every header of `file`; resolves once the archive is known safe to unpack below a directory, else
 * rejects with `ArchiveRefused` naming the entry. `maxBytes`: the largest total of file contents accepted.
 */
export async function checkArchive(file: string, maxBytes: number): Promise<void> {
  const { stream, done, stop } = uncompressed(file);
  let failed: unknown;
  let stopped = false;
  // Once the walk has its answer the decompressor is stopped: what it reports after that is of no interest.
  const settled = done.catch((err: unknown) => {
    if (!stopped) failed = err;
  });
  const blocks = new Blocks(stream);
  try {
    await walk(blocks, maxBytes);
  } catch (err) {
    // Where the stream ended early the decompressor is ending too: its own failure says more than "ends in
    // the middle" or "empty".
    if (blocks.ended) await settled;
    const first = failed;
    stopped = true;
    stop();
    await settled;
    throw first ?? err;
  }
  stopped = true;
  stop();
  await settled;
}

async function walk(blocks: Blocks, maxBytes: number): Promise<void> {
  /** Paths the archive makes symlinks (joined components): nothing may be written through them. */
  const symlinks = new Set<string>();
  /** Paths of entries other than symlinks and directories: what a hard link may name. */
  const linkable = new Set<string>();
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let total = 0;
  let entries = 0;
  const through = (parts: string[]): string | undefined => {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (symlinks.has(prefix)) return prefix;
    }
    return undefined;
  };
  for (;;) {
    const block = await blocks.take(BLOCK);
    if (block === null) {
      if (entries === 0) throw new ArchiveRefused('the archive is empty');
      return;
    }
    if (block.every((b) => b === 0)) {
      if (entries === 0) throw new ArchiveRefused('the archive holds no entry');
      return;
    }
    if (!checksumOk(block)) throw new ArchiveRefused('not a tar archive (or a damaged one): a header checksum is wrong');
    const flag = String.fromCharCode(block[156] ?? 0);
    const size = num(block, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw new ArchiveRefused('a tar metadata record is too large');
      const data = ((await blocks.take(padded)) ?? Buffer.alloc(0)).subarray(0, size);
      if (flag === 'x') pax = paxRecords(data);
      else if (flag === 'g') {
        // Global records naming paths would apply to every entry: not something a file system archive holds.
        const global = paxRecords(data);
        if (global.has('path') || global.has('linkpath')) throw new ArchiveRefused('a global pax header names a path');
      } else if (flag === 'L') longName = text(data, 0, data.length);
      else longLink = text(data, 0, data.length);
      continue;
    }
    entries++;
    const prefix = block.subarray(257, 263).toString('ascii').startsWith('ustar') ? text(block, 345, 155) : '';
    const name = text(block, 0, 100);
    const entryPath = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    const linkPath = pax.get('linkpath') ?? longLink ?? text(block, 157, 100);
    const sparseName = pax.get('GNU.sparse.name');
    const entrySize = pax.has('size') ? Number(pax.get('size')) : size;
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    const kind = KINDS[flag];
    if (kind === undefined) throw new ArchiveRefused(`entry '${shown(entryPath)}' has an unsupported type '${shown(flag)}'`);
    if (kind === 'device') throw new ArchiveRefused(`entry '${shown(entryPath)}' is a device node; a workspace's files hold none`);
    if (sparseName !== undefined) components(sparseName, 'an entry name');
    if (!Number.isSafeInteger(entrySize) || entrySize < 0) throw new ArchiveRefused(`entry '${shown(entryPath)}' has an invalid size`);
    const parts = components(entryPath, 'entry');
    const key = parts.join('/');
    const via = through(parts);
    if (via !== undefined) throw new ArchiveRefused(`entry '${shown(entryPath)}' goes through the symlink '${shown(via)}'`);
    if (kind === 'link') {
      const target = components(linkPath, `the hard link '${shown(entryPath)}' to`);
      const targetKey = target.join('/');
      if (through(target) !== undefined || !linkable.has(targetKey)) {
        throw new ArchiveRefused(
          `the hard link '${shown(entryPath)}' names '${shown(linkPath)}', which is not a file earlier in the archive`,
        );
      }
    }
    if (key === '' && kind !== 'dir') throw new ArchiveRefused(`entry '${shown(entryPath)}' would replace the directory itself`);
    if (kind === 'symlink') {
      symlinks.add(key);
      linkable.delete(key);
    } else {
      // An entry replaces what had its name (tar removes it first): a symlink there is gone.
      symlinks.delete(key);
      if (kind === 'dir') linkable.delete(key);
      else linkable.add(key);
    }
    if (kind === 'file') {
      total += entrySize;
      if (total > maxBytes)
        throw new ArchiveRefused(`its files (more than ${Math.floor(maxBytes / 1024 / 1024)} MiB) do not fit the workspace's disk`);
      await blocks.skip(Math.ceil(entrySize / BLOCK) * BLOCK);
    } else {
      await blocks.skip(padded);
    }
  }
}
