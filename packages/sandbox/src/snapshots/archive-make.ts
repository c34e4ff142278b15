// Writing an archive: the workspace's file system as seen inside, as a compressed tar. It is read from a
// clone of the disk (taken frozen, so one instant; the workspace runs on meanwhile), mounted read-only and
// shown through an idmapped view that maps the disk's owners back to the ids inside (base + k → k), under a
// read-only overlay with the image's layers (stored with the ids inside already). GNU tar reads that overlay
// with numeric owners: the archive holds what `ls -n` inside shows, whatever range the workspace had.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { AppError, type ArchiveFormat } from '@cove/protocol';
import { mountedPaths } from '../mounts.js';
import { run } from '../run-command.js';
import { idmapShift, NS_HELPER } from '../userns.js';

export interface ArchiveSource {
  /** A disk image nobody else uses (a clone: mounted read-only here, then deleted by the caller). */
  disk: string;
  /** The range its owners are written in. */
  base: number;
  size: number;
  /** The image's layers, top first (their owners are the ids inside). */
  layers: string[];
  /** An empty private directory to mount in (removed afterwards). */
  workDir: string;
}

/** Where the driver mounts its own files inside: left out of every archive. */
const INJECTED = ['/opt/cove', '/run/cove'];

/** Where the archive's paths start in the tar: `./etc/x`. */
function tarName(vmPath: string): string {
  return vmPath === '/' ? '.' : `.${vmPath}`;
}

/**
 * Writes the archive to `target` and gives its size and sha256. `vmPaths` empty: the whole file system;
 * a path that does not exist is `bad_request`.
 */
export async function writeArchive(
  source: ArchiveSource,
  target: string,
  format: ArchiveFormat,
  vmPaths: string[],
  excludeVmPaths: string[],
): Promise<{ sizeBytes: number; sha256: string }> {
  const disk = path.join(source.workDir, 'disk');
  const view = path.join(source.workDir, 'view');
  const root = path.join(source.workDir, 'root');
  for (const d of [disk, view, root]) await mkdir(d, { recursive: true, mode: 0o700 });
  try {
    // noload: the clone's journal is clean (it was frozen), and a read-only mount must not replay one.
    await run(['mount', '-t', 'ext4', '-o', 'loop,ro,noload,noatime', source.disk, disk]);
    await idmapShift(source.base, 0, source.size, 'ro', [{ source: disk, target: view }]);
    await run([NS_HELPER, 'overlay', root, '-', '-', path.join(view, 'upper'), ...source.layers]);
    return await tarTo(root, target, format, vmPaths, excludeVmPaths);
  } finally {
    const mounted = await mountedPaths();
    for (const m of [root, view, disk]) if (mounted.has(m)) await run(['umount', m], { allowFailure: true });
    await rm(source.workDir, { recursive: true, force: true }).catch(() => {});
  }
}

async function tarTo(
  root: string,
  target: string,
  format: ArchiveFormat,
  vmPaths: string[],
  excludeVmPaths: string[],
): Promise<{ sizeBytes: number; sha256: string }> {
  // Options before names; exclusions are literal paths from the archive's root, not patterns.
  const args = ['--create', '--file=-', '--numeric-owner', '--xattrs', '--xattrs-include=user.*', '--xattrs-include=security.capability'];
  args.push('--directory', root, '--anchored', '--no-wildcards');
  // Cove's own mount points (the agent's files, the token's directory) are not the workspace's.
  for (const p of [...INJECTED, ...excludeVmPaths]) args.push(`--exclude=${tarName(p)}`);
  args.push('--', ...(vmPaths.length === 0 ? ['.'] : vmPaths.map(tarName)));
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
  const out = createWriteStream(target, { mode: 0o600 });
  const count = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      yield chunk;
    }
  };
  if (format === 'tar.gz') {
    await pipeline(tar.stdout, createGzip({ level: 6 }), count, out);
  } else {
    // Node 20 has no zstd: Debian's (a dependency of the image tools already).
    const zstd = spawn('zstd', ['-q', '-3', '-T0', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const zstdExit = new Promise<number>((resolve, reject) => {
      zstd.once('error', reject);
      zstd.once('close', (code) => resolve(code ?? 1));
    });
    await Promise.all([pipeline(tar.stdout, zstd.stdin), pipeline(zstd.stdout, count, out)]);
    if ((await zstdExit) !== 0) throw new Error('zstd failed while writing the archive');
  }
  const code = await exited;
  if (code !== 0) {
    await rm(target, { force: true });
    // tar names a missing path "Cannot stat: No such file or directory".
    const missing = /(?:^|\n)tar: \.(\/[^:\n]*): Cannot stat: No such file or directory/.exec(stderr);
    if (missing) throw new AppError('bad_request', `vm_paths: '${missing[1]}' does not exist in the workspace`);
    throw new Error(`tar failed (${code}): ${stderr.trim().slice(0, 500)}`);
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}
