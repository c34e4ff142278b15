// The layer unpacker: one tar layer (gzip, zstd or plain) into an empty directory in overlayfs's own format,
// so that an image's layers stack as overlay lower directories with no flattening. `.wh.<name>` becomes a 0/0
// character device (overlay's whiteout) and `.wh..wh..opq` the directory's `trusted.overlay.opaque=y`. Device
// nodes are dropped (a workspace gets its /dev from the runtime). The tarball is hostile until proven
// otherwise: no entry may leave the directory (`..`), go through a symlink, or write through one.
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
} from 'node:fs';
import path from 'node:path';
import { readTarFile, writeEntryData } from '@cove/archive';
import { run } from '../run-command.js';
import { NS_HELPER } from '../userns.js';
import { type TarEntry, TarError } from './tar-reader.js';

export interface UnpackedLayer {
  /** The sha256 of the uncompressed tar (`sha256:…`): the name the image config gives the layer. */
  diffId: string;
  /** The bytes of its regular files. */
  size: number;
}

/** Extended attributes a layer may carry; others (overlay's own `trusted.overlay.*` above all) are dropped. */
function xattrAllowed(name: string): boolean {
  return name.startsWith('user.') || name === 'security.capability';
}

/** A tar path as components inside the layer; `..` anywhere is refused, `/` and `./` prefixes are dropped. */
export function layerPath(raw: string): string[] {
  if (raw.includes('\0')) throw new TarError('an entry name holds a NUL byte');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new TarError(`entry '${raw}' leaves the layer ('..')`);
  return parts;
}

/**
 * Unpacks `file` (a layer blob) into `dest` (an empty directory nobody else writes to) and gives its diff id.
 * Hostile content is a TarError naming the entry.
 */
export async function unpackLayer(file: string, dest: string, signal?: AbortSignal): Promise<UnpackedLayer> {
  const u = new Unpacker(dest);
  // Read through @cove/archive's file reader: a refusal stops the decompressor (left running, it would wait
  // forever on a stream nobody reads), and the decompressor's own failure is the error when it has one.
  const diffId = await readTarFile(file, (entry, data) => u.entry(entry, data), { what: 'layer', ...(signal ? { signal } : {}) });
  await u.finish();
  return { diffId, size: u.size };
}

class Unpacker {
  readonly #dest: string;
  /** Directories known to be real directories of this layer (relative paths; '' is the root). */
  readonly #dirs = new Set<string>(['']);
  /** Directory metadata, applied at the end (writing into a directory changes its mtime). */
  readonly #dirTimes = new Map<string, number>();
  /** Whiteouts, opaque markers, fifos and extended attributes: made by ns-helper (no Node binding). */
  readonly #whiteouts = new Set<string>();
  readonly #fixups: string[][] = [];
  size = 0;

  constructor(dest: string) {
    this.#dest = dest;
  }

  #abs(rel: string): string {
    return rel === '' ? this.#dest : path.join(this.#dest, rel);
  }

  /** Makes sure every parent of `parts` is a real directory of the layer (made if missing, never a symlink). */
  #parents(parts: string[], raw: string): string {
    let rel = '';
    for (const part of parts.slice(0, -1)) {
      rel = rel === '' ? part : `${rel}/${part}`;
      if (this.#dirs.has(rel)) continue;
      const st = lstatSync(this.#abs(rel), { throwIfNoEntry: false });
      if (st === undefined) mkdirSync(this.#abs(rel), { mode: 0o755 });
      else if (!st.isDirectory()) throw new TarError(`entry '${raw}' goes through '${rel}', which is not a directory in the layer`);
      this.#dirs.add(rel);
    }
    return rel;
  }

  /** Removes what is at `rel` (a later entry of the same name replaces it, as tar does). */
  #clear(rel: string): void {
    const st = lstatSync(this.#abs(rel), { throwIfNoEntry: false });
    if (st === undefined) return;
    if (st.isDirectory()) {
      rmSync(this.#abs(rel), { recursive: true, force: true });
      for (const d of this.#dirs) if (d === rel || d.startsWith(`${rel}/`)) this.#dirs.delete(d);
      for (const d of this.#dirTimes.keys()) if (d === rel || d.startsWith(`${rel}/`)) this.#dirTimes.delete(d);
    } else unlinkSync(this.#abs(rel));
  }

  async entry(entry: TarEntry, data: () => AsyncGenerator<Buffer>): Promise<void> {
    const parts = layerPath(entry.path);
    if (parts.length === 0) {
      // The layer's root: only its owner and mode matter (the overlay's root is the workspace's upper layer).
      if (entry.type === 'dir') this.#dirMeta('', entry);
      return;
    }
    const parent = this.#parents(parts, entry.path);
    const name = parts[parts.length - 1] as string;
    const rel = parent === '' ? name : `${parent}/${name}`;
    if (name.startsWith('.wh.')) {
      if (name === '.wh..wh..opq') this.#fixups.push(['o', parent]);
      else if (!name.startsWith('.wh..wh.')) {
        const hiddenName = name.slice(4);
        if (hiddenName === '' || hiddenName === '.' || hiddenName === '..') throw new TarError(`invalid whiteout '${entry.path}'`);
        const hidden = parent === '' ? hiddenName : `${parent}/${hiddenName}`;
        this.#clear(hidden);
        this.#whiteouts.add(hidden);
      }
      return;
    }
    this.#whiteouts.delete(rel);
    const abs = this.#abs(rel);
    switch (entry.type) {
      case 'dir': {
        const st = lstatSync(abs, { throwIfNoEntry: false });
        if (st !== undefined && !st.isDirectory()) this.#clear(rel);
        if (st === undefined || !st.isDirectory()) mkdirSync(abs, { mode: 0o700 });
        this.#dirs.add(rel);
        this.#dirMeta(rel, entry);
        break;
      }
      case 'file': {
        this.#clear(rel);
        const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          // A sparse file's segments go where its map says: its holes stay holes.
          await writeEntryData(fd, entry, data);
          fchownSync(fd, entry.uid, entry.gid);
          // After the chown, which clears set-id bits.
          fchmodSync(fd, entry.mode & 0o7777);
          futimesSync(fd, entry.mtime, entry.mtime);
        } finally {
          closeSync(fd);
        }
        this.size += entry.size;
        break;
      }
      case 'symlink':
        this.#clear(rel);
        // The target is kept as written: it is resolved inside the workspace's root, never here.
        symlinkSync(entry.linkPath, abs);
        lchownSync(abs, entry.uid, entry.gid);
        lutimesSync(abs, entry.mtime, entry.mtime);
        break;
      case 'link': {
        const target = layerPath(entry.linkPath);
        if (target.length === 0) throw new TarError(`hard link '${entry.path}' has no target`);
        const targetParent = this.#parents(target, entry.linkPath);
        const targetRel = targetParent === '' ? target[target.length - 1]! : `${targetParent}/${target[target.length - 1]}`;
        const st = lstatSync(this.#abs(targetRel), { throwIfNoEntry: false });
        if (st === undefined || st.isDirectory())
          throw new TarError(`hard link '${entry.path}' points to '${entry.linkPath}', which is not a file of this layer`);
        if (targetRel === rel) break;
        this.#clear(rel);
        linkSync(this.#abs(targetRel), abs);
        break;
      }
      case 'fifo':
        this.#clear(rel);
        this.#fixups.push(['p', rel, (entry.mode & 0o7777).toString(8), String(entry.uid), String(entry.gid)]);
        break;
      case 'char':
      case 'block':
        // Dropped: the runtime gives every workspace its /dev.
        return;
    }
    for (const [key, value] of entry.xattrs) if (xattrAllowed(key)) this.#fixups.push(['x', rel, key, value.toString('hex')]);
  }

  #dirMeta(rel: string, entry: TarEntry): void {
    const abs = this.#abs(rel);
    lchownSync(abs, entry.uid, entry.gid);
    chmodSync(abs, entry.mode & 0o7777);
    this.#dirTimes.set(rel, entry.mtime);
  }

  async finish(): Promise<void> {
    // Records of NUL-terminated fields, each kind with its own count (see ns-helper.c); the root is `.`.
    const records = [...[...this.#whiteouts].map((w) => ['w', w]), ...this.#fixups].map(([kind, rel, ...rest]) => [
      kind,
      rel || '.',
      ...rest,
    ]);
    if (records.length > 0) {
      await run([NS_HELPER, 'layer-fixups', this.#dest], { input: records.map((r) => `${r.join('\0')}\0`).join(''), timeoutMs: 600_000 });
    }
    // Deepest first, after everything was written into them.
    const dirs = [...this.#dirTimes].sort((a, b) => b[0].length - a[0].length);
    for (const [rel, mtime] of dirs) utimesSync(this.#abs(rel), mtime, mtime);
  }
}
