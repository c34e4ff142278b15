// A process workspace's archives: GNU tar of its home directory (entries named from it: `./app/main`), gzip or
// zstd; and the way back, GNU tar unpacking an archive that `checkArchive` found safe into a fresh directory.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { AppError, type ArchiveFormat } from '@cove/protocol';
import { run } from './copy-tree.js';

const TAR_ENV = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' };

/** A path below the archived directory as tar names it (`''` is the directory itself: `.`). */
function tarName(relative: string): string {
  return relative === '' ? '.' : `./${relative}`;
}

/**
 * Writes the tar of `root` (or of `include` minus `exclude`, paths relative to it) to `target`; gives its size
 * and sha256. A path to include that does not exist is `bad_request`.
 */
export async function writeArchive(
  root: string,
  target: string,
  format: ArchiveFormat,
  include: string[],
  exclude: string[],
): Promise<{ sizeBytes: number; sha256: string }> {
  const args = ['--create', '--file=-', '--numeric-owner', '--sparse', '--xattrs', '--xattrs-include=user.*'];
  // Exclusions are literal paths from the archive's root, not patterns.
  args.push('--directory', root, '--anchored', '--no-wildcards');
  for (const p of exclude) args.push(`--exclude=${tarName(p)}`);
  args.push('--', ...(include.length === 0 ? ['.'] : include.map(tarName)));
  const tar = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'], env: TAR_ENV });
  let stderr = '';
  tar.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d.slice(0, 4000);
  });
  const exited = new Promise<number>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', (code) => resolve(code ?? 1));
  });
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const out = createWriteStream(target, { mode: 0o600 });
  const count = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      yield chunk;
    }
  };
  try {
    if (format === 'tar.gz') {
      await pipeline(tar.stdout, createGzip({ level: 6 }), count, out);
    } else {
      // Node 20 has no zstd: Debian's.
      const zstd = spawn('zstd', ['-q', '-3', '-T0', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const zstdExit = new Promise<number>((resolve, reject) => {
        zstd.once('error', reject);
        zstd.once('close', (code) => resolve(code ?? 1));
      });
      await Promise.all([pipeline(tar.stdout, zstd.stdin), pipeline(zstd.stdout, count, out)]);
      if ((await zstdExit) !== 0) throw new Error('zstd failed while writing the archive');
    }
    const code = await exited;
    // 1: "file changed as we read it", which a frozen workspace cannot cause but a process outside it can.
    if (code !== 0 && code !== 1) {
      const missing = /(?:^|\n)tar: \.\/([^:\n]*): Cannot stat: No such file or directory/.exec(stderr);
      if (missing) throw new AppError('bad_request', `vm_paths: '${missing[1]}' does not exist in the workspace`);
      throw new Error(`tar failed (${code}): ${stderr.trim().slice(0, 500)}`);
    }
  } catch (err) {
    await rm(target, { force: true });
    throw err;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
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
