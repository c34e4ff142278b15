// A workspace's sizes changed after creation (WorkspaceDriver.resize): CPUs and memory live on its container
// (`runc update` writes the cgroup), the disk grown. Nothing here is kept apart from the disk image: the next
// start writes the bundle from the spec the control plane recorded, so the new sizes hold across restarts.
//
// Memory is never lowered below what the workspace holds and cannot give back (its anonymous memory, tmpfs,
// kernel memory: the cgroup's use less its file cache): such a resize is refused (409) rather than left to the
// OOM killer. Within that, the kernel reclaims cache to fit; where it still cannot (cgroup v1 answers EBUSY) the
// resize is refused too.
//
// A disk only grows. Its image file is lengthened (sparse) and the ext4 inside grown: online through the loop
// device (`losetup -c`, `resize2fs`) when the workspace runs; a host may refuse that (EXT4_IOC_RESIZE_FS is
// denied to a mounted ext4 on a loop device in some kernels and sandboxes), and then the next start grows it
// offline before mounting (`growDiskBeforeStart`). A stopped workspace's disk is grown offline at once.
import { existsSync } from 'node:fs';
import { readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type ResizeOutcome, type ResizeResult, type ResourceSizes } from '@cove/protocol';
import { cgroupDir, cgroupMode } from './cgroups.js';
import type { Containers } from './containers.js';
import { type DiskLayout, diskFile, unmountRoot } from './disk.js';
import { mountedPaths } from './mounts.js';
import { run } from './run-command.js';
import type { OciRuntime } from './runc.js';
import type { Slots, WorkspaceState } from './slots.js';

const MiB = 1024 * 1024;

export interface ResizeDeps {
  slots: Slots;
  containers: Containers;
  runtime: OciRuntime;
  /** The cgroup parent the driver's containers live under (`cove`). */
  cgroupParent: string;
}

/** Whether the slot's container is up (created, running or paused): its limits can change live. */
async function containerUp(runtime: OciRuntime, slot: string): Promise<boolean> {
  const status = (await runtime.state(slot))?.status;
  return status === 'created' || status === 'running' || status === 'paused';
}

/** Applies `to` to the workspace now, as far as its state allows (see the file's comment). Caller serialises per workspace. */
export async function resizeSandbox(
  deps: ResizeDeps,
  state: WorkspaceState,
  from: ResourceSizes,
  to: Partial<ResourceSizes>,
): Promise<ResizeResult> {
  const layout = deps.slots.layout(state.slot);
  // Refusals before any change.
  if (to.diskMb !== undefined) {
    const bytes = (await stat(await diskFile(layout))).size;
    if (to.diskMb * MiB < bytes) {
      throw new AppError(
        'conflict',
        `workspace '${state.id}' has a ${Math.ceil(bytes / MiB)} MiB disk; a disk never shrinks (asked for ${to.diskMb} MiB)`,
      );
    }
  }
  const up = await containerUp(deps.runtime, state.slot);
  const result: ResizeResult = {};
  if (to.cpus !== undefined || to.memoryMb !== undefined) {
    const changed = (['cpus', 'memoryMb'] as const).filter((k) => to[k] !== undefined);
    if (up) {
      const memoryMb = to.memoryMb ?? from.memoryMb;
      const relative = `${deps.cgroupParent}/${state.slot}`;
      if (memoryMb < from.memoryMb) await checkMemoryFits(state.id, relative, memoryMb);
      try {
        await deps.containers.setLimits(state.slot, { cpus: to.cpus ?? from.cpus, memoryMb });
      } catch (err) {
        if (memoryMb >= from.memoryMb) throw err;
        throw new AppError(
          'conflict',
          `workspace '${state.id}' holds more memory than ${memoryMb} MiB and the kernel could not reclaim enough: ${(err as Error).message.slice(0, 300)}`,
        );
      }
      for (const k of changed) result[k] = { applied: true, appliesOn: 'now' };
    } else {
      for (const k of changed) result[k] = { applied: false, appliesOn: 'start', reason: 'the workspace is stopped' };
    }
  }
  if (to.diskMb !== undefined) result.diskMb = await growDisk(layout, to.diskMb, up);
  return result;
}

/**
 * Refuses a memory limit below what the workspace cannot give back: its cgroup's use less the file cache the
 * kernel may drop (v1 `total_*_file`, v2 `*_file` of memory.stat).
 */
async function checkMemoryFits(id: string, relative: string, memoryMb: number): Promise<void> {
  const mode = cgroupMode();
  const dir = cgroupDir(relative, 'memory', mode);
  const read = (file: string) => readFile(path.join(dir, file), 'utf8').catch(() => undefined);
  const usage = Number((await read(mode === 'v2' ? 'memory.current' : 'memory.usage_in_bytes'))?.trim());
  const statText = (await read('memory.stat')) ?? '';
  if (!Number.isFinite(usage)) return;
  const stat = new Map(
    statText
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
  const prefix = mode === 'v2' ? '' : 'total_';
  const file = Number(stat.get(`${prefix}active_file`) ?? 0) + Number(stat.get(`${prefix}inactive_file`) ?? 0);
  const held = Math.max(0, usage - file);
  if (held > memoryMb * MiB) {
    throw new AppError(
      'conflict',
      `workspace '${id}' holds ${Math.ceil(held / MiB)} MiB of memory it cannot give back; it cannot be limited to ${memoryMb} MiB now`,
    );
  }
}

/** The file marking a disk whose image grew while its file system could not (online growth refused): the next start grows it. */
function pendingMarker(layout: DiskLayout): string {
  return path.join(path.dirname(layout.image), 'disk-grow-pending');
}

/** Grows the ext4 of an image that is not mounted to the image's length (a file system check first, as resize2fs requires). */
async function growOffline(file: string): Promise<void> {
  // e2fsck -p: 0 clean, 1 errors corrected; anything else leaves the file system as it was, and the grow undone.
  const check = await run(['e2fsck', '-f', '-p', file], { allowFailure: true, timeoutMs: 600_000 });
  if (check.code > 1)
    throw new AppError('internal_error', `the disk's file system check failed (${check.code}): ${check.stdout.slice(-300)}`);
  await run(['resize2fs', file], { timeoutMs: 600_000 });
}

async function growDisk(layout: DiskLayout, diskMb: number, up: boolean): Promise<ResizeOutcome> {
  const file = await diskFile(layout);
  const bytes = diskMb * MiB;
  const mounted = (await mountedPaths()).has(layout.mountPoint);
  if (up && mounted) {
    await truncate(file, bytes);
    const source = (await run(['findmnt', '-n', '-o', 'SOURCE', '--mountpoint', layout.mountPoint])).stdout.trim();
    // The loop device learns the file's new length; then the mounted file system grows into it, if the kernel lets it.
    await run(['losetup', '-c', source]);
    const online = await run(['resize2fs', source], { allowFailure: true, timeoutMs: 600_000 });
    if (online.code === 0) return { applied: true, appliesOn: 'now' };
    await writeFile(pendingMarker(layout), `${diskMb}\n`, { mode: 0o600 });
    const why = online.stderr.trim().split('\n').pop() ?? `resize2fs exited with ${online.code}`;
    return {
      applied: false,
      appliesOn: 'restart',
      reason: `this host does not grow a mounted ext4 on a loop device (${why}); the next start grows it`,
    };
  }
  // Not running: the disk may still be mounted (made, never started); the next start mounts it again.
  if (mounted) await unmountRoot(layout);
  await truncate(file, bytes);
  await growOffline(file);
  await rm(pendingMarker(layout), { force: true });
  return { applied: true, appliesOn: 'now' };
}

/**
 * Before a start mounts the disk: grows it where it is smaller than the spec's size (recorded while it ran, with
 * `apply: false` or online growth refused). Costs a stat when there is nothing to do. Never shrinks.
 */
export async function growDiskBeforeStart(layout: DiskLayout, diskMb: number): Promise<void> {
  const file = await diskFile(layout).catch(() => undefined);
  if (file === undefined) return;
  const bytes = diskMb * MiB;
  const size = (await stat(file)).size;
  const pending = existsSync(pendingMarker(layout));
  if (size >= bytes && !pending) return;
  if ((await mountedPaths()).has(layout.mountPoint)) await unmountRoot(layout);
  if (size < bytes) await truncate(file, bytes);
  await growOffline(file);
  await rm(pendingMarker(layout), { force: true });
}
