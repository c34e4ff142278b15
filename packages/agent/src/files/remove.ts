import { lstat, realpath, rm } from 'node:fs/promises';
import { AppError } from '@cove/protocol';
import { fromSystemError, withPath } from '../http/errno.js';
import { resolveWirePath } from '../paths/resolve.js';
import { type DeletionDecision, decideDeletion, splitParent } from './protected-paths.js';

/**
 * Resolves a path for a destructive operation (delete, move source) and
 * refuses protected paths with 403. The parent is resolved through symlinks
 * here (I/O), the decision itself is the pure `decideDeletion`.
 */
export async function checkedTarget(input: unknown, workdir: string, param = 'path'): Promise<DeletionDecision> {
  const normalised = resolveWirePath(input, workdir, param);
  const { parent } = splitParent(normalised);
  const realParent = normalised === '/' ? '/' : await withPath(parent, () => realpath(parent));
  const decision = decideDeletion(normalised, workdir, () => realParent);
  if (decision.protected) {
    throw new AppError('protected_path', `refusing to modify protected system path: ${decision.target}`);
  }
  return decision;
}

/**
 * Deletes a file, link or directory tree. Links are never followed: a link
 * is removed as itself, and `rm` descends into directories with lstat, so a
 * link inside the tree is unlinked, not traversed.
 */
export async function removePath(input: unknown, workdir: string): Promise<string> {
  const decision = await checkedTarget(input, workdir);
  await withPath(decision.normalised, () => lstat(decision.target));
  try {
    await rm(decision.target, { recursive: true, force: false, maxRetries: 2 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EBUSY') {
      throw new AppError('conflict', `busy (a mount point or a file in use): ${decision.normalised}`);
    }
    throw fromSystemError(err, decision.normalised);
  }
  return decision.normalised;
}
