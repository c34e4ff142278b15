// Writing an archive: the workspace's file system as seen inside, as a compressed tar. It is read from a
// clone of the disk (taken frozen, so one instant; the workspace runs on meanwhile), mounted read-only and
// shown through an idmapped view that maps the disk's owners back to the ids inside (base + k → k), under a
// read-only overlay with the image's layers (stored with the ids inside already). GNU tar reads that overlay
// with numeric owners: the archive holds what `ls -n` inside shows, whatever range the workspace had.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeTar } from '@cove/archive';
import type { ArchiveFormat } from '@cove/protocol';
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
    return await writeTar({
      root,
      target,
      format,
      names: vmPaths.length === 0 ? ['.'] : vmPaths.map(tarName),
      // Cove's own mount points (the agent's files, the token's directory) are not the workspace's.
      excludes: [...INJECTED, ...excludeVmPaths].map(tarName),
      // Sparse files as GNU sparse entries (data and map): a 1 GiB file of a few KiB stays that in the archive
      // and after unpacking (writeEntryData), instead of a gibibyte of zeros that may not fit the new disk.
      options: ['--sparse', '--xattrs-include=security.capability'],
      vmPath: (name) => name.slice(1),
    });
  } finally {
    const mounted = await mountedPaths();
    for (const m of [root, view, disk]) if (mounted.has(m)) await run(['umount', m], { allowFailure: true });
    await rm(source.workDir, { recursive: true, force: true }).catch(() => {});
  }
}
