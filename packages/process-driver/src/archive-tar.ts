// A process workspace's archives: GNU tar of its home directory (entries named from it: `./app/main`), gzip or
// zstd; and the way back, GNU tar unpacking an archive that `checkArchive` found safe into a fresh directory.
import { writeTar } from '@cove/archive';
import type { ArchiveFormat } from '@cove/protocol';
import { run } from './copy-tree.js';

/** A path below the archived directory as tar names it (`''` is the directory itself: `.`). */
function tarName(relative: string): string {
  return relative === '' ? '.' : `./${relative}`;
}

/**
 * Writes the tar of `root` (or of `include` minus `exclude`, paths relative to it) to `target`; gives its size
 * and sha256. A path to include that does not exist is `bad_request`.
 */
export function writeArchive(
  root: string,
  target: string,
  format: ArchiveFormat,
  include: string[],
  exclude: string[],
): Promise<{ sizeBytes: number; sha256: string }> {
  return writeTar({
    root,
    target,
    format,
    names: include.length === 0 ? ['.'] : include.map(tarName),
    excludes: exclude.map(tarName),
    options: ['--sparse'],
    // Exit 1, "file changed as we read it": a frozen workspace cannot cause it, but a process outside it can.
    changingIsOk: true,
    vmPath: (name) => name.slice(2),
  });
}

/**
 * Unpacks `file` (tar, tar.gz or tar.zst, checked by `checkArchive`) into the empty directory `dest`. Owners
 * are kept where the host lets (root), modes and times always; the directory itself keeps its own.
 */
export async function unpackInto(file: string, dest: string): Promise<void> {
  const args = ['--extract', `--file=${file}`, '--directory', dest, '--numeric-owner', '--preserve-permissions'];
  // Each entry replaces what is there (tar unlinks first, never writes through a symlink); `.` keeps dest's mode.
  args.push('--no-overwrite-dir', '--delay-directory-restore', '--xattrs', '--xattrs-include=user.*');
  if (process.getuid?.() !== 0) args.push('--no-same-owner');
  await run(['tar', ...args]);
}
