// Snapshots and restore (the official SDK's `snapshots.create` and `snapshots.restore`): the driver freezes the
// workspace for the instant its disk is copied; the control plane leaves it as `after` says and, for a restore,
// stops it first and starts it again afterwards (its processes do not survive: memory is not in a snapshot).
import {
  AppError,
  noFilesystemSnapshots,
  SNAPSHOT_MEMORY_REASON,
  type SnapshotBody,
  type SnapshotInfo,
  type WorkspaceSnapshots,
} from '@cove/protocol';
import type { WorkspaceRecord } from '../store/records.js';
import { type ControlContext, ownedWorkspace } from './context.js';
import { presentWorkspace } from './present.js';
import { type PowerVerb, powerLocked } from './workspaces.js';

/** The driver's snapshots, or 409 naming the driver. */
export function driverSnapshots(ctx: ControlContext): WorkspaceSnapshots {
  const snapshots = ctx.driver.snapshots;
  if (!snapshots) throw new AppError('conflict', noFilesystemSnapshots(ctx.driver.name));
  return snapshots;
}

export function presentSnapshot(info: SnapshotInfo) {
  return {
    workspace_id: info.workspaceId,
    created_at: info.createdAt,
    size_bytes: info.sizeBytes,
    memory: false,
    memory_reason: SNAPSHOT_MEMORY_REASON,
  };
}

async function powered(ctx: ControlContext, ws: WorkspaceRecord, verb: PowerVerb): Promise<WorkspaceRecord> {
  const next = await powerLocked(ctx, ws, verb);
  await ctx.lifecycle?.powered(next, verb);
  return next;
}

/** `POST /workspace/:id/snapshot {after}`: `resume` (default) leaves it running (a paused one is resumed), `paused`, `stop`. */
export async function snapshotWorkspace(ctx: ControlContext, owner: string, id: string, body: SnapshotBody) {
  const snapshots = driverSnapshots(ctx);
  await ownedWorkspace(ctx, owner, id);
  const after = body.after ?? 'resume';
  if (after === 'paused' && !ctx.driver.canPause) {
    throw new AppError('conflict', `the ${ctx.driver.name} driver cannot pause a workspace; use after: "resume" or "stop"`);
  }
  return ctx.locks.run(id, async () => {
    let ws = await ownedWorkspace(ctx, owner, id);
    const info = await snapshots.snapshot(id);
    if (after === 'stop') ws = await powered(ctx, ws, 'stop');
    else if (after === 'paused' && ws.status === 'running') ws = await powered(ctx, ws, 'pause');
    else if (after === 'resume' && ws.status === 'paused') ws = await powered(ctx, ws, 'resume');
    return {
      success: true as const,
      snapshot: presentSnapshot(info),
      after,
      memory: false,
      memory_reason: SNAPSHOT_MEMORY_REASON,
      workspace: presentWorkspace(ws, ctx.driver),
    };
  });
}

/** `POST /workspace/:id/restore`: the latest snapshot's file system; a workspace that was up is started again. */
export async function restoreWorkspace(ctx: ControlContext, owner: string, id: string) {
  const snapshots = driverSnapshots(ctx);
  await ownedWorkspace(ctx, owner, id);
  return ctx.locks.run(id, async () => {
    let ws = await ownedWorkspace(ctx, owner, id);
    if (!(await snapshots.latestSnapshot(id))) throw new AppError('conflict', `workspace '${id}' has no snapshot to restore`);
    const wasUp = ws.status !== 'stopped';
    if (wasUp) ws = await powerLocked(ctx, ws, 'stop');
    const info = await snapshots.restore(id);
    if (wasUp) ws = await powered(ctx, ws, 'start');
    return {
      success: true as const,
      restored: true,
      snapshot: presentSnapshot(info),
      memory: false,
      memory_reason: SNAPSHOT_MEMORY_REASON,
      workspace: presentWorkspace(ws, ctx.driver),
    };
  });
}

/** `GET /workspace/:id/snapshot`: the snapshot a restore would bring back (null: none). */
export async function latestSnapshot(ctx: ControlContext, owner: string, id: string) {
  const snapshots = driverSnapshots(ctx);
  await ownedWorkspace(ctx, owner, id);
  const info = await snapshots.latestSnapshot(id);
  return { success: true as const, snapshot: info && presentSnapshot(info), memory: false, memory_reason: SNAPSHOT_MEMORY_REASON };
}
