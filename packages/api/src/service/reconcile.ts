// The store and the driver made to agree when the control plane starts, before it restores anything or serves:
// after a crash (kill -9, power loss) in the middle of a create, a delete or a fork, each workspace either exists
// whole in both or is gone from both. The driver has already removed what it found half-made when it opened.

import type { WorkspaceRecord } from '../store/records.js';
import type { ControlContext } from './context.js';
import { resolvedNetwork } from './network.js';

export interface ReconcileResult {
  /** Rows whose create never finished, and whose workspace the driver has: made to run (recover boots them). */
  completed: string[];
  /** Rows without a workspace in the driver (a create cut short, a delete cut short): deleted. */
  removed: string[];
  /** Workspaces the driver has without a row (a create rolled back in the store but not on the host): destroyed. */
  orphans: string[];
}

/**
 * A row written by a create (or fork) that never got further: the work it stands for was cut short. Every
 * create ends by booting the workspace, which updates the row; a row never updated and still `stopped` is one
 * whose create did not end.
 */
export function createUnfinished(ws: WorkspaceRecord): boolean {
  return ws.status === 'stopped' && ws.createdAt === ws.updatedAt;
}

export async function reconcile(ctx: ControlContext): Promise<ReconcileResult> {
  const result: ReconcileResult = { completed: [], removed: [], orphans: [] };
  const listed = ctx.driver.workspaceIds?.();
  if (listed === undefined) return result;
  const inDriver = new Set(listed);
  const { items } = await ctx.store.listWorkspaces();
  const rows = new Set(items.map((w) => w.id));
  const missing = items.filter((w) => !inDriver.has(w.id));
  // A driver that has none of a store's finished workspaces is more likely opened on another data directory than
  // the survivor of a crash: those rows are kept (and reported) rather than deleted.
  const finishedMissing = missing.filter((w) => !createUnfinished(w));
  const suspicious = finishedMissing.length > 0 && inDriver.size === 0 && finishedMissing.length === items.length && items.length > 1;
  if (suspicious) {
    ctx.log.error(
      { workspaces: finishedMissing.length },
      'the driver has none of the store’s workspaces: is the data directory the right one? Their rows are kept',
    );
  }
  for (const ws of missing) {
    if (suspicious && !createUnfinished(ws)) continue;
    await ctx.store.deleteWorkspace(ws.id);
    result.removed.push(ws.id);
  }
  for (const ws of items) {
    if (!inDriver.has(ws.id) || !createUnfinished(ws)) continue;
    // Made on the host, never booted: the create is finished now (recover starts it, its agent included).
    await ctx.store.updateWorkspace(ws.id, { status: 'running' });
    result.completed.push(ws.id);
  }
  for (const id of inDriver) {
    if (rows.has(id)) continue;
    await ctx.driver.destroy(id);
    result.orphans.push(id);
  }
  // A network change writes the store, then the host: one cut in between left the host's rules behind the store's.
  // The store's settings are applied again to every workspace the host has, before anything boots or is served.
  for (const ws of items) {
    if (!inDriver.has(ws.id)) continue;
    await ctx.driver.applyNetwork(ws.id, await resolvedNetwork(ctx, ws));
  }
  if (result.completed.length + result.removed.length + result.orphans.length > 0) {
    ctx.log.warn(result, 'store and driver reconciled after an unclean stop');
  }
  return result;
}
