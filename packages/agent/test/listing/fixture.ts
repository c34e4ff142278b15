import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';

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

/**
 * Random trees for property tests: up to 6 entries a directory, each named from `names`, an empty file, a
 * subdirectory or a symlink to `a`; a directory has one of `gitignores` as its .gitignore, except one time in `noIgnoreFreq`
 * (fast-check's `option` frequency; 6 is its default).
 */
export function arbitraryTree(names: string[], gitignores: string[], noIgnoreFreq = 6): fc.Arbitrary<Spec> {
  return fc.letrec<{ dir: Spec }>((tie) => ({
    dir: fc
      .uniqueArray(
        fc.tuple(
          fc.constantFrom(...names),
          fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant(''), tie('dir'), fc.constant({ link: 'a' })),
        ),
        { selector: ([name]) => name, maxLength: 6 },
      )
      .chain((entries) =>
        fc.option(fc.constantFrom(...gitignores), { nil: undefined, freq: noIgnoreFreq }).map((ignore) => {
          const out = Object.fromEntries(entries as Array<[string, Spec[string]]>) as Spec;
          if (ignore !== undefined) out['.gitignore'] = ignore;
          return out;
        }),
      ),
  })).dir;
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
