import type { Dirent } from 'node:fs';
import { readdirSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { compareBytes, sortByKey } from './byte-order.js';
import { IgnoreChain, readRules } from './ignore-rules.js';
import type { EntryFilter, Kind } from './list-options.js';

/**
 * Pseudo file systems a recursive walk does not descend into unless it
 * starts inside them: they are huge, generated, and never what a listing of
 * `/` is after.
 */
const VIRTUAL_DIRS = new Set(['/proc', '/sys', '/dev']);

/** Whether a recursive walk stops at this directory (it is listed, not descended). */
export function isVirtualDir(path: string): boolean {
  return VIRTUAL_DIRS.has(path);
}

/** One entry of a directory that survived the exclusions. */
export interface Child {
  readonly name: string;
  readonly path: string;
  /** Path relative to the walk's root. */
  readonly relative: string;
  readonly kind: Kind;
  /** Whether the walk descends into it. */
  readonly explore: boolean;
}

/**
 * A directory's entries in name order, and the directories the walk enters
 * in the order their contents come by full path: `a`, `a-b`, `a/x` — a
 * directory's contents sort as its name plus '/'. `contentsAt[i]` is how many
 * entries precede the contents of `explored[i]`.
 */
export interface Steps {
  readonly children: Child[];
  readonly explored: Child[];
  readonly contentsAt: number[];
}

export function kindOf(dirent: Dirent): Kind {
  if (dirent.isDirectory()) return 'directory';
  if (dirent.isSymbolicLink()) return 'symlink';
  if (dirent.isFile()) return 'file';
  return 'other';
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * Reads one directory (one system call batch, Dirent types: no stat per
 * entry), applies its .gitignore and the exclusions, and returns its steps in
 * path order with the ignore chain in force inside it. Throws what readdir
 * throws.
 */
export async function readSteps(
  dir: string,
  relative: string,
  chain: IgnoreChain | undefined,
  filter: EntryFilter,
  exploreChildren: boolean,
  reader: DirReader,
): Promise<{ steps: Steps; chain: IgnoreChain | undefined }> {
  const dirents = await reader.read(dir);
  if (filter.useGitignore) {
    for (const d of dirents) {
      if (d.name === '.gitignore' && !d.isDirectory()) {
        const rules = await readRules(joinPath(dir, '.gitignore'));
        if (rules) chain = IgnoreChain.extend(chain, rules, relative);
        break;
      }
    }
  }
  const children: Child[] = [];
  const explored: Child[] = [];
  for (const d of dirents) {
    const name = d.name;
    const kind = kindOf(d);
    const childRelative = relative === '' ? name : `${relative}/${name}`;
    const isDir = kind === 'directory';
    if (filter.excludes(childRelative, name, isDir, chain)) continue;
    const path = joinPath(dir, name);
    const explore = isDir && exploreChildren && !isVirtualDir(path);
    const child: Child = { name, path, relative: childRelative, kind, explore };
    children.push(child);
    if (explore) explored.push(child);
  }
  sortByKey(children, (c) => c.name);
  const contentsAt: number[] = [];
  if (explored.length > 0) {
    sortByKey(explored, (c) => `${c.name}/`);
    // Contents of `name/` come after every entry whose name sorts before it.
    let i = 0;
    for (const dirChild of explored) {
      const key = `${dirChild.name}/`;
      while (i < children.length && compareBytes((children[i] as Child).name, key) < 0) i++;
      contentsAt.push(i);
    }
  }
  return { steps: { children, explored, contentsAt }, chain };
}

/** Longest stretch of synchronous directory reads before the walk yields to other requests. */
const SLICE_MS = 8;
/** A directory this large on disk (roughly 25,000+ entries on ext4) is read off the main thread. */
const LARGE_DIR_BYTES = 1024 * 1024;

/**
 * Reads directories for a walk. Small directories are read synchronously —
 * a walk that awaits the thread pool for each of a thousand directories
 * spends most of its time waiting for the hand-offs, worse on a busy
 * machine — in slices of at most SLICE_MS, after which the walk yields so
 * other requests are served. Directories that are large on disk are read
 * asynchronously, so one huge directory never blocks the event loop.
 */
export class DirReader {
  #sliceStart = performance.now();

  async read(dir: string): Promise<Dirent[]> {
    if (performance.now() - this.#sliceStart > SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#sliceStart = performance.now();
    }
    const info = statSync(dir, { throwIfNoEntry: false });
    if (info === undefined || !info.isDirectory() || info.size > LARGE_DIR_BYTES) {
      return readdir(dir, { withFileTypes: true });
    }
    return readdirSync(dir, { withFileTypes: true });
  }
}
