// Writing an archive: GNU tar of a directory with numeric owners and user extended attributes, compressed with
// gzip (Node's) or zstd (Debian's: Node 20 has none), its size and sha256 counted as it is written.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { AppError, type ArchiveFormat } from '@cove/protocol';

export interface TarWrite {
  /** The directory archived; entries are named from it (`./etc/x`). */
  root: string;
  /** The file written (removed again when writing fails). */
  target: string;
  format: ArchiveFormat;
  /** Tar names (`./x`) to archive: `.` for all. */
  names: string[];
  /** Tar names left out: literal paths from the root, not patterns. */
  excludes: string[];
  /** GNU tar options of this driver's (`--sparse`, more extended attributes). */
  options?: string[];
  /** Exit 1 ("file changed as we read it") is a success: the directory is live, not a frozen copy. */
  changingIsOk?: boolean;
  /** The workspace path a tar name stands for, in the `bad_request` for a path asked for that does not exist. */
  vmPath: (tarName: string) => string;
}

/** Writes the archive; gives its size and sha256. */
export async function writeTar(w: TarWrite): Promise<{ sizeBytes: number; sha256: string }> {
  // Options before names.
  const args = ['--create', '--file=-', '--numeric-owner', '--xattrs', '--xattrs-include=user.*', ...(w.options ?? [])];
  args.push('--directory', w.root, '--anchored', '--no-wildcards');
  for (const name of w.excludes) args.push(`--exclude=${name}`);
  args.push('--', ...w.names);
  const tar = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
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
  const out = createWriteStream(w.target, { mode: 0o600 });
  const count = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      yield chunk;
    }
  };
  try {
    if (w.format === 'tar.gz') {
      await pipeline(tar.stdout, createGzip({ level: 6 }), count, out);
    } else {
      const zstd = spawn('zstd', ['-q', '-3', '-T0', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const zstdExit = new Promise<number>((resolve, reject) => {
        zstd.once('error', reject);
        zstd.once('close', (code) => resolve(code ?? 1));
      });
      await Promise.all([pipeline(tar.stdout, zstd.stdin), pipeline(zstd.stdout, count, out)]);
      if ((await zstdExit) !== 0) throw new Error('zstd failed while writing the archive');
    }
    const code = await exited;
    if (code !== 0 && !(code === 1 && w.changingIsOk)) {
      // tar names a missing path "Cannot stat: No such file or directory".
      const missing = /(?:^|\n)tar: (\.[^:\n]*): Cannot stat: No such file or directory/.exec(stderr);
      if (missing?.[1]) throw new AppError('bad_request', `vm_paths: '${w.vmPath(missing[1])}' does not exist in the workspace`);
      throw new Error(`tar failed (${code}): ${stderr.trim().slice(0, 500)}`);
    }
  } catch (err) {
    await rm(w.target, { force: true });
    throw err;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}
