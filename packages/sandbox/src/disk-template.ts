// Empty disks cloned from a template: a new workspace's disk of a size made before is a reflink clone of an empty
// file system of that size, made once in the disk pool (snapshots/disk-pool.ts), instead of a fresh mkfs. The
// clone takes a syscall where mkfs took a process and ~6–25 ms of a cold create. Only where the pool clones in
// constant time (XFS reflink); elsewhere each disk is made by mkfs.
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { makeExt4 } from './disk.js';
import type { DiskPool } from './snapshots/disk-pool.js';

/** Sizes with a template at most (a few hundred KiB to a few MiB each, sparse); other sizes are made by mkfs. */
const MAX_TEMPLATES = 16;
/** In the name: a change of how disks are made (makeExt4's options) makes new templates. */
const TEMPLATE_VERSION = 1;

export class DiskTemplates {
  readonly #pool: DiskPool;
  readonly #made = new Map<number, Promise<string>>();

  constructor(pool: DiskPool) {
    this.#pool = pool;
  }

  get dir(): string {
    return path.join(this.#pool.dir, 'templates');
  }

  /**
   * The template of an empty disk of `sizeMb` (its root owned by host root: the owner is set at mount, see
   * `mountRoot`), made on first use; undefined where disks cannot be cloned or too many sizes have one.
   */
  template(sizeMb: number): Promise<string> | undefined {
    if (!this.#pool.reflink) return undefined;
    const known = this.#made.get(sizeMb);
    if (known) return known;
    if (this.#made.size >= MAX_TEMPLATES) return undefined;
    const made = this.#make(sizeMb);
    this.#made.set(sizeMb, made);
    // A failed make is tried again by the next disk of that size.
    made.catch(() => this.#made.delete(sizeMb));
    return made;
  }

  async #make(sizeMb: number): Promise<string> {
    const file = path.join(this.dir, `ext4-v${TEMPLATE_VERSION}-${sizeMb}.ext4`);
    // Made whole or not at all (under the pool's tmp/, emptied at open, then renamed): one found is complete.
    if (existsSync(file)) return file;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.#pool.dir, 'tmp', `template-${sizeMb}.${process.pid}.${Date.now()}`);
    try {
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.truncate(sizeMb * 1024 * 1024);
      } finally {
        await handle.close();
      }
      await makeExt4(tmp, 0);
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return file;
  }
}
