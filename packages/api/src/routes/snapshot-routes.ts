import { ErrorResponse, ForkBody, ForkResponse, SnapshotBody, SnapshotResponse, WorkspaceIdParams } from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { forkWorkspace } from '../service/fork.js';
import { presentWorkspace } from '../service/present.js';
import { latestSnapshot, restoreWorkspace, snapshotWorkspace } from '../service/snapshots.js';

const tags = ['snapshots'];
const params = WorkspaceIdParams;
const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

/** Snapshots and restore (the official SDK's `snapshots.create|restore`), and Cove's fork. */
export function snapshotRoutes(app: ApiApp, ctx: ControlContext): void {
  app.post(
    '/workspace/:id/snapshot',
    {
      schema: {
        tags,
        summary: 'Snapshot the file system (frozen for the instant; memory not included); after: resume | paused | stop',
        params,
        body: SnapshotBody,
        response: { 200: SnapshotResponse, ...errors },
      },
    },
    (r) => snapshotWorkspace(ctx, r.coveOwner, r.params.id, r.body ?? {}),
  );

  app.get(
    '/workspace/:id/snapshot',
    {
      schema: {
        tags,
        summary: 'The snapshot a restore would bring back (null: none)',
        params,
        response: { 200: SnapshotResponse, ...errors },
      },
    },
    (r) => latestSnapshot(ctx, r.coveOwner, r.params.id),
  );

  app.post(
    '/workspace/:id/restore',
    {
      schema: {
        tags,
        summary: "Bring the file system back to the latest snapshot (a running workspace restarts: its processes don't survive)",
        params,
        response: { 200: SnapshotResponse, ...errors },
      },
    },
    (r) => restoreWorkspace(ctx, r.coveOwner, r.params.id),
  );

  app.post(
    '/workspace/:id/fork',
    {
      schema: {
        tags,
        summary: "New workspaces from the file system at this instant (the parent's image, limits, network; their own address and token)",
        params,
        body: ForkBody,
        response: { 201: ForkResponse, ...errors },
      },
    },
    async (r, reply) => {
      const children = await forkWorkspace(ctx, r.coveOwner, r.params.id, r.body ?? {});
      const shown = children.map((c) => presentWorkspace(c, ctx.driver));
      return reply.code(201).send({ success: true as const, workspace: shown[0] ?? {}, workspaces: shown, parent_id: r.params.id });
    },
  );
}
