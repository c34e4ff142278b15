import { AppError, WORKSPACE_DEFAULTS, type WorkspaceCreateBody, type WorkspaceSpec } from '@cove/protocol';
import type { WorkspaceRecord, WorkspaceState } from '../store/records.js';
import { archiveSeed } from './archives.js';
import { type ControlContext, ownedWorkspace, present } from './context.js';
import { newWorkspaceId } from './ids.js';
import { createMetadata, initialMetadata } from './metadata.js';
import { provisionWorkspace } from './provisioning.js';
import { checkAccountCaps } from './resources.js';

export const DEFAULTS = WORKSPACE_DEFAULTS;

export function specOf(ws: WorkspaceRecord): WorkspaceSpec {
  return { id: ws.id, name: ws.name, image: ws.image, cpus: ws.cpus, memoryMb: ws.memoryMb, diskMb: ws.diskMb };
}

/** Creates and boots a workspace. The body may spell sizes the SDK's, the MCP server's or the reference's way. */
export async function createWorkspace(ctx: ControlContext, owner: string, body: WorkspaceCreateBody): Promise<WorkspaceRecord> {
  if (body.idempotency_key !== undefined) {
    const existing = await ctx.store.listWorkspaces({ owner });
    const same = existing.items.find((w) => w.idempotencyKey === body.idempotency_key);
    if (same) return same;
  }
  const { total } = await ctx.store.listWorkspaces({ owner, limit: 1 });
  if (total >= ctx.limits.maxWorkspaces) {
    throw new AppError('conflict', `workspace limit reached: this account may have ${ctx.limits.maxWorkspaces} workspaces`);
  }
  const metadata = createMetadata(body.metadata);
  // `from_archive` is checked before anything is made; the archive fills the disk before the first boot (archives.ts).
  const seed = await archiveSeed(ctx, owner, body);
  const now = new Date().toISOString();
  const id = newWorkspaceId();
  const draft: WorkspaceRecord = {
    id,
    owner,
    name: body.name ?? id,
    image: body.image ?? seed?.image ?? DEFAULTS.image,
    cpus: body.config?.cpus ?? body.cpus ?? body.vcpus ?? body.cpu ?? DEFAULTS.cpus,
    memoryMb: body.config?.memory_mb ?? body.memory_mb ?? body.ram_mb ?? body.memory ?? DEFAULTS.memoryMb,
    diskMb: body.config?.disk_size_mb ?? body.disk_size_mb ?? body.disk_mb ?? body.disk ?? DEFAULTS.diskMb,
    status: 'stopped',
    ip: null,
    port: null,
    accessEnabled: false,
    rawToken: null,
    generation: 1,
    tokenExpiresAt: null,
    network: { publicAccess: false, allowInternet: true, privateLinkIds: [], ingressPorts: [], egress: [] },
    idempotencyKey: body.idempotency_key ?? null,
    lastPingAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await checkAccountCaps(ctx, owner, draft);
  await ctx.driver.checkCapacity?.(specOf(draft));
  const { record, created } = await ctx.store.insertWorkspace(draft);
  if (!created) return record;
  await initialMetadata(ctx, id, metadata);
  // An image the driver's store lacks is pulled first; with `wait_ready: false` in the background (provisioning.ts).
  return provisionWorkspace(ctx, record, body.wait_ready !== false, (background) =>
    ctx.locks.run(id, async () => {
      if (background && !(await ctx.store.getWorkspace(id))) throw new AppError('not_found', `workspace '${id}' was deleted`);
      try {
        await ctx.driver.create(specOf(record));
        await seed?.unpack(id);
        return await boot(ctx, record);
      } catch (err) {
        // A workspace the driver could not create is not left behind half-made (in the background its record
        // stays, to show the failure).
        await ctx.driver.destroy(id).catch(() => {});
        // The create's own failure is what the caller hears, even when the row cannot go (a full volume).
        if (!background)
          await ctx.store
            .deleteWorkspace(id)
            .catch((cause) => ctx.log.error({ err: cause, workspace: id }, 'could not remove a failed create'));
        throw err;
      }
    }),
  );
}

/** Starts the workspace and, if Internal API access is enabled, its agent. Caller holds the lock. */
export async function boot(ctx: ControlContext, ws: WorkspaceRecord): Promise<WorkspaceRecord> {
  const { ip } = await ctx.driver.start(specOf(ws));
  let patch: Partial<WorkspaceRecord> = { status: 'running', ip };
  if (ws.accessEnabled && ws.rawToken) {
    const endpoint = await ctx.driver.startAgent(ws.id, ws.rawToken, ws.port);
    patch = { ...patch, ip: endpoint.ip, port: endpoint.port };
  }
  return present(await ctx.store.updateWorkspace(ws.id, patch), ws.id);
}

function requirePausable(ctx: ControlContext, ws: WorkspaceRecord, verb: 'pause' | 'resume'): void {
  if (!ctx.driver.canPause) {
    throw new AppError('conflict', `the ${ctx.driver.name} driver cannot ${verb} a workspace; use stop and start`);
  }
  if (ws.status === 'stopped') throw new AppError('conflict', `workspace '${ws.id}' is stopped; start it instead`);
}

/**
 * Resumes a paused workspace, then makes sure it runs as `start` would (its agent included): a workspace
 * whose processes did not survive the pause (a control-plane restart under the process driver) is booted.
 */
async function thaw(ctx: ControlContext, ws: WorkspaceRecord): Promise<WorkspaceRecord> {
  await ctx.driver.resume(ws.id);
  return boot(ctx, ws);
}

async function halt(ctx: ControlContext, ws: WorkspaceRecord): Promise<WorkspaceRecord> {
  await ctx.driver.stop(ws.id);
  // The port is kept as the agent's preferred port for the next start; the address goes.
  return present(await ctx.store.updateWorkspace(ws.id, { status: 'stopped', ip: null }), ws.id);
}

export type PowerVerb = 'start' | 'stop' | 'restart' | 'pause' | 'resume';

/**
 * All five are idempotent. pause / resume need a driver that can freeze a workspace (its processes stop
 * where they are, memory kept); `start` on a paused workspace resumes it, `stop` and `restart` work on one.
 */
export async function power(ctx: ControlContext, owner: string, id: string, verb: PowerVerb): Promise<WorkspaceRecord> {
  await ownedWorkspace(ctx, owner, id);
  return ctx.locks.run(id, async () => {
    const ws = await powerLocked(ctx, await ownedWorkspace(ctx, owner, id), verb);
    await ctx.lifecycle?.powered(ws, verb);
    return ws;
  });
}

/** A power verb on a workspace whose lock the caller holds (`power`, and the lifecycle's own actions). */
export async function powerLocked(ctx: ControlContext, ws: WorkspaceRecord, verb: PowerVerb): Promise<WorkspaceRecord> {
  const id = ws.id;
  switch (verb) {
    case 'start':
      if (ws.status === 'paused') return thaw(ctx, ws);
      return ws.status === 'running' && (!ws.accessEnabled || ctx.driver.agentRunning(id)) ? ws : boot(ctx, ws);
    case 'stop':
      return ws.status === 'stopped' ? ws : halt(ctx, ws);
    case 'restart':
      return boot(ctx, await halt(ctx, ws));
    case 'pause':
      if (ws.status === 'paused') return ws;
      requirePausable(ctx, ws, verb);
      await ctx.driver.pause(id);
      return present(await ctx.store.updateWorkspace(id, { status: 'paused' }), id);
    case 'resume':
      if (ws.status === 'running') return ws;
      requirePausable(ctx, ws, verb);
      return thaw(ctx, ws);
  }
}

export async function renameWorkspace(ctx: ControlContext, owner: string, id: string, name: string | undefined): Promise<WorkspaceRecord> {
  const ws = await ownedWorkspace(ctx, owner, id);
  if (name === undefined) return ws;
  return ctx.locks.run(id, async () => present(await ctx.store.updateWorkspace(id, { name }), id));
}

export async function pingWorkspace(ctx: ControlContext, owner: string, id: string, ttlSeconds?: number): Promise<WorkspaceRecord> {
  await ownedWorkspace(ctx, owner, id);
  return ctx.locks.run(id, async () => {
    const ws = present(await ctx.store.updateWorkspace(id, { lastPingAt: new Date().toISOString() }), id);
    await ctx.lifecycle?.pinged(ws, ttlSeconds);
    return ws;
  });
}

export async function deleteWorkspace(ctx: ControlContext, owner: string, id: string): Promise<WorkspaceRecord> {
  await ownedWorkspace(ctx, owner, id);
  return ctx.locks.run(id, async () => {
    const ws = await ownedWorkspace(ctx, owner, id);
    await ctx.driver.destroy(id);
    await ctx.store.deleteWorkspace(id);
    return { ...ws, status: 'stopped', ip: null, accessEnabled: false };
  });
}

export async function listWorkspaces(
  ctx: ControlContext,
  owner: string,
  query: { page: number; limit: number; status?: WorkspaceState },
): Promise<{ items: WorkspaceRecord[]; total: number }> {
  return ctx.store.listWorkspaces({
    owner,
    limit: query.limit,
    offset: (query.page - 1) * query.limit,
    ...(query.status ? { status: query.status } : {}),
  });
}

export async function quota(ctx: ControlContext, owner: string) {
  const { items } = await ctx.store.listWorkspaces({ owner });
  const running = items.filter((w) => w.status === 'running');
  return {
    workspaces: { used: items.length, limit: ctx.limits.maxWorkspaces },
    running: running.length,
    cpus: { used: running.reduce((n, w) => n + w.cpus, 0) },
    memory_mb: { used: running.reduce((n, w) => n + w.memoryMb, 0) },
    disk_mb: { used: items.reduce((n, w) => n + w.diskMb, 0) },
  };
}

/**
 * Restores the desired state after a control-plane restart: workspaces that
 * were running are started again, with their agents where access was enabled.
 */
export async function recover(ctx: ControlContext): Promise<{ started: number; failed: number }> {
  const { items } = await ctx.store.listWorkspaces({ status: 'running' });
  let started = 0;
  let failed = 0;
  for (const ws of items) {
    try {
      await ctx.locks.run(ws.id, () => boot(ctx, ws));
      started++;
    } catch (err) {
      failed++;
      ctx.log.error({ workspace: ws.id, err: (err as Error).message }, 'could not restart workspace');
    }
  }
  return { started, failed };
}
