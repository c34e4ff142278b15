// Each slot's user namespace (root inside is its id range's base on the host) and what is made through it
// with the namespace helper (native/ns-helper.c, built at install): the pinned namespace itself, idmapped
// read-only views of the image (so the image is shared, unshifted, and shows its own owners inside), and
// the shift of an upper layer of an earlier version into the range.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { IdRange } from './id-ranges.js';
import { mountedPaths } from './mounts.js';
import { NS_HELPER } from './ns-helper-path.js';
import { run } from './run-command.js';

export { NS_HELPER };

/** Why the helper cannot run (undefined when it can). */
export function nsHelperMissing(): string | undefined {
  return existsSync(NS_HELPER) ? undefined : `${NS_HELPER} is not built (npm ci builds it; it needs a C compiler)`;
}

function helper(args: string[], timeoutMs?: number): Promise<unknown> {
  return run([NS_HELPER, ...args], timeoutMs === undefined ? {} : { timeoutMs });
}

/**
 * Pins a user namespace mapping 0 → range.base (range.size ids) at `file` (an nsfs bind mount): runc joins
 * it, the slot's network namespace is made inside it, idmapped mounts map through it. Idempotent: true when
 * it made one (a network namespace of an earlier one cannot be joined after it: it must be made again).
 * `netns`: where to pin a new network namespace owned by it, made at once (when none is there).
 */
export async function ensureUserns(file: string, range: IdRange, netns?: string): Promise<boolean> {
  if ((await mountedPaths()).has(file)) return false;
  await rm(file, { force: true });
  // With `netns` (none there yet): the network namespace it owns is made by the same helper process.
  const withNetns = netns !== undefined && !existsSync(netns);
  if (withNetns) await mkdir(path.dirname(netns), { recursive: true, mode: 0o755 });
  await helper(['userns', String(range.base), String(range.size), file, ...(withNetns ? [netns] : [])]);
  return true;
}

/** Unpins it (the namespace ends with its last user). Idempotent. */
export async function removeUserns(file: string): Promise<void> {
  if ((await mountedPaths()).has(file)) await run(['umount', '-l', file]);
  await rm(file, { force: true });
}

/** Makes a network namespace owned by the slot's user namespace, pinned at `target` (like `ip netns add`). */
export async function makeNetns(usernsFile: string, target: string): Promise<void> {
  await helper(['netns', usernsFile, target]);
}

/** Attaches idmapped, read-only, recursive views of each source at its target (an existing directory). */
export async function idmapMounts(usernsFile: string, pairs: Array<{ source: string; target: string }>): Promise<void> {
  if (pairs.length === 0) return;
  await helper(['idmap', usernsFile, ...pairs.flatMap((p) => [p.source, p.target])]);
}

/**
 * Attaches idmapped views of each source at its target through a mapping made for the call: a file owned by
 * `from + k` shows as `to + k` (`size` ids). `rw` views also keep host root as itself (overlayfs writes its
 * work directory as its mounter).
 */
export async function idmapShift(
  from: number,
  to: number,
  size: number,
  mode: 'ro' | 'rw',
  pairs: Array<{ source: string; target: string }>,
): Promise<void> {
  if (pairs.length === 0) return;
  await helper(['idmap-shift', String(from), String(to), String(size), mode, ...pairs.flatMap((p) => [p.source, p.target])]);
}

/**
 * Moves every owner under `dir` into the range (k → base + k; ids outside 0–65535 become the range's nobody),
 * keeping set-id bits, file capabilities (for the range's root) and ACLs. Idempotent: ids already in the range stay.
 */
export async function shiftIds(range: IdRange, dir: string): Promise<void> {
  await helper(['shift', String(range.base), String(range.size), dir], 30 * 60_000);
}

/**
 * Gives the running container of host process `pid` the file system mounted at `newRoot` (on the host) as its
 * root, with the container's own mounts (/proc, /dev, /sys, binds) carried over and the old root detached: every
 * process whose root was the old one runs on in the new one (ns-helper switch-root). `log`: a held log file
 * (`detachRoot`) bound over `target` first, its hold removed.
 */
export async function switchRoot(pid: number, newRoot: string, log?: { hold: string; target: string }): Promise<void> {
  await helper(['switch-root', String(pid), newRoot, ...(log ? [log.hold, log.target] : [])]);
}

/**
 * The host's side of a running container's disk going (ns-helper detach-root): its log bound at `logHold`,
 * the overlay at `rootfs` unmounted, the disk at `disk` detached (its processes hold the log open).
 */
export async function detachRoot(rootfs: string, disk: string, diskLog: string, logHold: string): Promise<void> {
  await helper(['detach-root', rootfs, disk, diskLog, logHold]);
}
