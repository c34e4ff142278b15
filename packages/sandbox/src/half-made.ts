// Slots a killed driver left half-made (their making cut short) or half-removed: removed whole when the driver
// opens, so that after any crash a workspace either exists with everything it needs or not at all.
import type { Logger } from 'pino';
import type { Containers } from './containers.js';
import type { LegacyState, WorkspaceState } from './slots.js';

export async function removeHalfMade(slots: Array<WorkspaceState | LegacyState>, containers: Containers, log: Logger): Promise<void> {
  for (const state of slots) {
    try {
      // Its container (if one was made), network, mounts, disk, user namespace, directory and id range.
      await containers.removeSlot(state);
      log.warn({ slot: state.slot, workspace: state.id || undefined }, 'removed a workspace left half-made or half-removed by a crash');
    } catch (err) {
      log.error({ slot: state.slot, err: (err as Error).message }, 'could not remove a half-made workspace');
    }
  }
}
