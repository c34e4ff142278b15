// Workspaces of versions before user namespaces (a state.json without an id range) are migrated once, when the
// driver opens: their container ran as the host's root and cannot continue inside a user namespace, so it is
// stopped (the control plane's recovery boots the workspace again, as after a host restart); the upper layer's
// owners are shifted into a newly claimed range (k → base + k, see ns-helper.c), the network namespace (the
// host's user namespace's) is dropped to be made again inside the workspace's, and the range is recorded.
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Containers } from './containers.js';
import { unmountRoot } from './disk.js';
import { claimIdRange } from './id-ranges.js';
import { mountedPaths } from './mounts.js';
import { removeNetwork } from './netns.js';
import { run } from './run-command.js';
import type { LegacyState, Slots, WorkspaceState } from './slots.js';
import { shiftIds } from './userns.js';

export async function migrateLegacySlot(
  state: LegacyState,
  deps: { slots: Slots; containers: Containers; log: Logger },
): Promise<WorkspaceState> {
  const { slot } = state;
  const started = Date.now();
  await deps.containers.kill(slot);
  await removeNetwork(slot);
  const layout = deps.slots.layout(slot);
  // The previous layout mounted the overlay inside the slot's directory.
  const oldRootfs = path.join(deps.slots.slotDir(slot), 'rootfs');
  await unmountRoot({ ...layout, rootfs: oldRootfs });
  if ((await mountedPaths()).has(oldRootfs)) throw new Error(`${oldRootfs} is still mounted`);
  if (existsSync(oldRootfs)) await rmdir(oldRootfs);
  // Claimed again by the same slot after a migration cut short: the same range, and the shift resumes.
  const range = await claimIdRange(deps.slots.dataDir, slot);
  await mkdir(layout.mountPoint, { recursive: true, mode: 0o700 });
  await run(['mount', '-t', 'ext4', '-o', 'loop,noatime', layout.image, layout.mountPoint]);
  try {
    await shiftIds(range, layout.mountPoint);
  } finally {
    await run(['umount', layout.mountPoint]);
  }
  // The token: readable by the workspace's root only, in a directory it may enter (see Agents.writeToken).
  const tokenDir = deps.slots.tokenDir(slot);
  await chmod(tokenDir, 0o711);
  const token = path.join(tokenDir, 'token');
  if (existsSync(token)) {
    await chown(token, range.base, range.base);
    await chmod(token, 0o400);
  }
  const migrated: WorkspaceState = { ...state, idRange: range };
  await deps.slots.save(migrated);
  deps.log.warn(
    { workspace: state.id, base: range.base, ms: Date.now() - started },
    'workspace moved into its own user namespace (id range)',
  );
  return migrated;
}
