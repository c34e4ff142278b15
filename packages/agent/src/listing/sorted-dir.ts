import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { sortByKey } from './byte-order.js';
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
 * A step of a walk in path (byte) order: an entry itself (`key` = its name),
 * or the contents of a directory (`key` = name + '/'). Sorting both by key
 * puts `a`, `a-b`, `a/x` in the order of their full paths.
 */
export interface Step {
  readonly key: string;
  readonly child: Child;
  readonly contents: boolean;
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
): Promise<{ steps: Step[]; chain: IgnoreChain | undefined }> {
  const dirents = await readdir(dir, { withFileTypes: true });
  if (filter.useGitignore) {
    for (const d of dirents) {
      if (d.name === '.gitignore' && !d.isDirectory()) {
        const rules = await readRules(joinPath(dir, '.gitignore'));
        if (rules) chain = IgnoreChain.extend(chain, rules, relative);
        break;
      }
    }
  }
  const steps: Step[] = [];
  for (const d of dirents) {
    const name = d.name;
    const kind = kindOf(d);
    const childRelative = relative === '' ? name : `${relative}/${name}`;
    const isDir = kind === 'directory';
    if (filter.excludes(childRelative, name, isDir, chain)) continue;
    const path = joinPath(dir, name);
    const explore = isDir && exploreChildren && !isVirtualDir(path);
    const child: Child = { name, path, relative: childRelative, kind, explore };
    steps.push({ key: name, child, contents: false });
    if (explore) steps.push({ key: `${name}/`, child, contents: true });
  }
  return { steps: sortByKey(steps), chain };
}
