import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Creates a tree under `root` from a spec: a string value is a file's
 * content, `{ link: target }` a symlink, an object a directory.
 */
export type Spec = { [name: string]: string | Buffer | { link: string } | Spec };

export async function makeTree(root: string, spec: Spec): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [name, value] of Object.entries(spec)) {
    const target = path.join(root, name);
    if (typeof value === 'string' || Buffer.isBuffer(value)) await writeFile(target, value);
    else if ('link' in value && typeof value.link === 'string') await symlink(value.link, target);
    else await makeTree(target, value as Spec);
  }
}

/** Paths of a flat listing relative to `root`. */
export function relPaths(entries: Array<{ path: string }>, root: string): string[] {
  return entries.map((e) => path.relative(root, e.path));
}

export interface Entry {
  name: string;
  path: string;
  type: string;
  size?: number;
  modified?: string;
  extension?: string;
  content?: string;
  hash?: string;
  children?: Entry[];
}

export interface ListBody {
  success: boolean;
  path: string;
  entries: Entry[];
  count: number;
  truncated?: boolean;
  error?: string;
  code?: string;
}

/** A tree as nested names: `{ dir: { file: null } }`, for compact assertions. */
export function shape(entries: Entry[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of entries) out[e.name] = e.children ? shape(e.children) : e.type === 'directory' ? '…' : null;
  return out;
}
