// `POST /workspace/:id/fork {name?, count?}`: new workspaces starting from the parent's file system at one
// instant, then independent. Each child has the parent's image, limits and network settings, and its own
// address, token and firewall rules. The driver clones the parent's disk (constant time where it can: see
// `WorkspaceSnapshots.constantTimeFork`) while the parent is frozen for that instant; the children then boot.
import { AppError, type ForkBody, type WorkspaceSpec } from '@cove/protocol';
import type { WorkspaceRecord } from '../store/records.js';
import { type ControlContext, ownedWorkspace } from './context.js';
import { newRawToken, newWorkspaceId } from './ids.js';
import { resolvedNetwork } from './network.js';
import { driverSnapshots } from './snapshots.js';
import { boot, specOf } from './workspaces.js';

function childName(parent: WorkspaceRecord, body: ForkBody, i: number, count: number): string {
  const base = body.name ?? `${parent.name}-fork`;
  return (count === 1 ? base : `${base}-${i + 1}`).slice(0, 128);
}

export async function forkWorkspace(ctx: ControlContext, owner: string, id: string, body: ForkBody): Promise<WorkspaceRecord[]> {
  const snapshots = driverSnapshots(ctx);
  const parent = await ownedWorkspace(ctx, owner, id);
  const count = body.count ?? 1;
  const { total } = await ctx.store.listWorkspaces({ owner, limit: 1 });
  if (total + count > ctx.limits.maxWorkspaces) {
    throw new AppError('conflict', `workspace limit reached: this account may have ${ctx.limits.maxWorkspaces} workspaces`);
  }
  const now = new Date().toISOString();
  const children: WorkspaceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const draft: WorkspaceRecord = {
      ...parent,
      id: newWorkspaceId(),
      name: childName(parent, body, i, count),
      status: 'stopped',
      ip: null,
      port: null,
      // Its own token: the parent's is never shared.
      rawToken: parent.accessEnabled ? newRawToken() : null,
      generation: 1,
      tokenExpiresAt: null,
      network: {
        ...parent.network,
        privateLinkIds: [...parent.network.privateLinkIds],
        ingressPorts: [...parent.network.ingressPorts],
        egress: [...parent.network.egress],
      },
      idempotencyKey: null,
      lastPingAt: null,
      createdAt: now,
      updatedAt: now,
    };
    children.push((await ctx.store.insertWorkspace(draft)).record);
  }
  try {
    // The parent's lock: its state does not change while its file system is taken.
    await ctx.locks.run(id, async () => {
      const current = await ownedWorkspace(ctx, owner, id);
      const specs: WorkspaceSpec[] = children.map((c) => ({ ...specOf(c), image: current.image }));
      await snapshots.fork(id, specs);
    });
  } catch (err) {
    for (const c of children) await ctx.store.deleteWorkspace(c.id);
    throw err;
  }
  return Promise.all(
    children.map((child) =>
      ctx.locks.run(child.id, async () => {
        try {
          await ctx.driver.applyNetwork(child.id, await resolvedNetwork(ctx, child));
          const ws = await boot(ctx, child);
          return ws;
        } catch (err) {
          ctx.log.warn({ err, workspace: child.id, parent: id }, 'a fork did not start');
          return child;
        }
      }),
    ),
  );
}
