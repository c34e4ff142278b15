// A workspace held still while its disk is copied: its processes frozen (the cgroup freezer, as `pause`)
// and its disk's file system frozen (FIFREEZE: everything written is on disk, the journal is clean, writes
// wait), so a clone of the disk's image is one consistent instant, mountable as it is. Both are undone
// whatever happens; a driver that died in between thaws every disk at its next open (`thawDisks`).
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DiskLayout } from '../disk.js';
import { mountedPaths } from '../mounts.js';
import { run } from '../run-command.js';
import type { OciRuntime } from '../runc.js';

/**
 * The mark, in the slot's directory, of a container paused here for a clone (not by its user): a driver that
 * died in between finds it at its next open and resumes the container (`frozenForClone`), where a container a
 * user paused stays paused.
 */
export const FROZEN_MARK = 'frozen-for-clone';

/** Whether the slot's container was paused for a clone that never finished (and must be resumed). */
export function frozenMark(slotDir: string): string {
  return path.join(slotDir, FROZEN_MARK);
}

/**
 * Runs `fn` with the slot's container (when up and not paused already) and its disk frozen. A disk that is not
 * mounted (the workspace stopped) does not change meanwhile and is not touched. Gives `fn`'s result. `running`:
 * the caller knows the container runs (not paused).
 */
export async function withFrozen<T>(
  runtime: OciRuntime,
  slot: string,
  slotDir: string,
  layout: DiskLayout,
  fn: () => Promise<T>,
  running = false,
): Promise<T> {
  // Known running (its first process alive, not paused): no runtime call to ask.
  const status = running ? 'running' : (await runtime.state(slot))?.status;
  const pausedHere = status === 'running' || status === 'created';
  if (pausedHere) {
    await writeFile(frozenMark(slotDir), '', { mode: 0o600 });
    await runtime.pause(slot);
  }
  try {
    const mounted = (await mountedPaths()).has(layout.mountPoint);
    if (!mounted) return await fn();
    await run(['fsfreeze', '--freeze', layout.mountPoint]);
    try {
      return await fn();
    } finally {
      await run(['fsfreeze', '--unfreeze', layout.mountPoint]);
    }
  } finally {
    if (pausedHere) {
      await runtime.resume(slot);
      await rm(frozenMark(slotDir), { force: true });
    }
  }
}

/** Thaws the disks a driver that stopped mid-snapshot left frozen (a disk not frozen answers EINVAL: ignored). */
export async function thawDisks(mountPoints: string[]): Promise<void> {
  const mounted = await mountedPaths();
  for (const m of mountPoints) if (mounted.has(m)) await run(['fsfreeze', '--unfreeze', m], { allowFailure: true });
}
