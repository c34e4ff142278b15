// A workspace's resources after creation: CPUs, memory and disk read and changed (the official SDK's
// `resources`). The store keeps the sizes every start uses; the driver applies what it can now (driver.resize)
// and says what waits for a start. A disk never shrinks. The account's caps (Limits.account*) bound what all
// the owner's workspaces have together, at create and at every resize.
import {
  AppError,
  type ResizeOutcome,
  type ResizeResult,
  type ResourceChange,
  type ResourceSizes,
  type ResourcesUpdateBody,
} from '@cove/protocol';
import type { WorkspaceRecord } from '../store/records.js';
import { type ControlContext, type Limits, ownedWorkspace, present } from './context.js';

const WIRE: Record<keyof ResourceSizes, 'cpus' | 'memory_mb' | 'disk_size_mb'> = {
  cpus: 'cpus',
  memoryMb: 'memory_mb',
  diskMb: 'disk_size_mb',
};
const CAP: Record<keyof ResourceSizes, { limit: 'accountCpus' | 'accountMemoryMb' | 'accountDiskMb'; what: string }> = {
  cpus: { limit: 'accountCpus', what: 'CPUs' },
  memoryMb: { limit: 'accountMemoryMb', what: 'MiB of memory' },
  diskMb: { limit: 'accountDiskMb', what: 'MiB of disk' },
};
const SIZES = Object.keys(WIRE) as Array<keyof ResourceSizes>;

const sizesOf = (ws: WorkspaceRecord): ResourceSizes => ({ cpus: ws.cpus, memoryMb: ws.memoryMb, diskMb: ws.diskMb });

/** What the owner's workspaces have in all (`except` left out: the one being resized). */
async function accountTotals(ctx: ControlContext, owner: string, except?: string): Promise<ResourceSizes> {
  const { items } = await ctx.store.listWorkspaces({ owner });
  const total = { cpus: 0, memoryMb: 0, diskMb: 0 };
  for (const w of items) {
    if (w.id === except) continue;
    for (const k of SIZES) total[k] += w[k];
  }
  return total;
}

/**
 * Refuses sizes that would take the owner's workspaces past an account cap (409), counting every workspace
 * (stopped ones keep their allocation: they may start at any time). `except`: the workspace being resized.
 */
export async function checkAccountCaps(ctx: ControlContext, owner: string, sizes: ResourceSizes, except?: string): Promise<void> {
  const capped = SIZES.filter((k) => ctx.limits[CAP[k].limit] !== undefined);
  if (capped.length === 0) return;
  const totals = await accountTotals(ctx, owner, except);
  for (const k of capped) {
    const limit = ctx.limits[CAP[k].limit] as number;
    if (totals[k] + sizes[k] > limit) {
      throw new AppError(
        'conflict',
        `account limit reached: this account's workspaces may have ${limit} ${CAP[k].what} in all; ` +
          `the others have ${totals[k]}, this one would have ${sizes[k]}`,
      );
    }
  }
}

function presentResources(ctx: ControlContext, ws: WorkspaceRecord, totals: ResourceSizes) {
  const usage = (k: keyof ResourceSizes) => ({ used: totals[k], limit: ctx.limits[CAP[k].limit] ?? null });
  return {
    success: true as const,
    workspace_id: ws.id,
    status: ws.status,
    driver: ctx.driver.name,
    cpus: ws.cpus,
    memory_mb: ws.memoryMb,
    disk_size_mb: ws.diskMb,
    resources: { cpus: ws.cpus, memory_mb: ws.memoryMb, disk_size_mb: ws.diskMb },
    account: { cpus: usage('cpus'), memory_mb: usage('memoryMb'), disk_mb: usage('diskMb') },
  };
}

/** `GET /workspace/:id/resources`. */
export async function getResources(ctx: ControlContext, owner: string, id: string) {
  const ws = await ownedWorkspace(ctx, owner, id);
  return presentResources(ctx, ws, await accountTotals(ctx, owner));
}

/** The disk's use for a refusal's message, where the driver can read it now (a running workspace). */
async function diskUse(ctx: ControlContext, ws: WorkspaceRecord): Promise<string> {
  if (ws.status === 'stopped' || !ctx.driver.stats) return '';
  const used = await ctx.driver
    .stats(ws.id)
    .then((s) => s.disk.usedBytes)
    .catch(() => null);
  return used === null ? '' : `, ${Math.ceil(used / 1024 ** 2)} MiB of it in use`;
}

/**
 * `PUT`/`PATCH /workspace/:id/resources`: the sizes named change (both verbs: the official SDK's CLI sends a
 * subset to PUT). With `apply` (the default) the driver applies what it can now; the store records them all.
 */
export async function updateResources(ctx: ControlContext, owner: string, id: string, body: ResourcesUpdateBody) {
  const asked: Partial<ResourceSizes> = {};
  if (body.cpus !== undefined) asked.cpus = body.cpus;
  if (body.memory_mb !== undefined) asked.memoryMb = body.memory_mb;
  if (body.disk_size_mb !== undefined) asked.diskMb = body.disk_size_mb;
  if (Object.keys(asked).length === 0) throw new AppError('bad_request', 'nothing to change: give cpus, memory_mb or disk_size_mb');
  await ownedWorkspace(ctx, owner, id);
  // The account's lock first (its caps count every workspace of the owner), then the workspace's.
  return ctx.locks.run(`account:${owner}`, () =>
    ctx.locks.run(id, async () => {
      const ws = await ownedWorkspace(ctx, owner, id);
      const from = sizesOf(ws);
      const to: Partial<ResourceSizes> = {};
      for (const k of SIZES) if (asked[k] !== undefined && asked[k] !== from[k]) to[k] = asked[k];
      if (to.diskMb !== undefined && to.diskMb < from.diskMb) {
        throw new AppError(
          'conflict',
          `workspace '${id}' has a ${from.diskMb} MiB disk${await diskUse(ctx, ws)}; a disk never shrinks (asked for ${to.diskMb} MiB)`,
        );
      }
      const next = { ...from, ...to };
      await checkAccountCaps(ctx, owner, next, id);
      const outcomes = await apply(ctx, ws, from, to, body.apply !== false);
      const updated = Object.keys(to).length > 0 ? present(await ctx.store.updateWorkspace(id, to), id) : ws;
      const changes: Partial<Record<'cpus' | 'memory_mb' | 'disk_size_mb', ResourceChange>> = {};
      for (const k of SIZES) {
        const target = asked[k];
        if (target === undefined) continue;
        const o: ResizeOutcome = to[k] === undefined ? { applied: true, appliesOn: 'now' } : (outcomes[k] ?? unapplied(ctx, ws));
        changes[WIRE[k]] = {
          from: from[k],
          to: target,
          applied: o.applied,
          applies_on: o.appliesOn,
          ...(o.reason !== undefined ? { reason: o.reason } : {}),
        };
      }
      return { ...presentResources(ctx, updated, await accountTotals(ctx, owner)), changes };
    }),
  );
}

/** When a size the driver does not apply now takes effect. */
function unapplied(ctx: ControlContext, ws: WorkspaceRecord): ResizeOutcome {
  if (!ctx.driver.resize) return { applied: false, appliesOn: null, reason: `the ${ctx.driver.name} driver applies no resource limits` };
  return ws.status === 'stopped'
    ? { applied: false, appliesOn: 'start', reason: 'the workspace is stopped' }
    : { applied: false, appliesOn: 'restart', reason: 'apply: false' };
}

async function apply(
  ctx: ControlContext,
  ws: WorkspaceRecord,
  from: ResourceSizes,
  to: Partial<ResourceSizes>,
  now: boolean,
): Promise<ResizeResult> {
  if (Object.keys(to).length === 0 || !now || !ctx.driver.resize) return {};
  return ctx.driver.resize(ws.id, from, to);
}

/** The account caps of the control plane's options, only those set (`exactOptionalPropertyTypes`). */
export function accountCaps(limits: Partial<Limits> | undefined): Pick<Limits, 'accountCpus' | 'accountMemoryMb' | 'accountDiskMb'> {
  const caps: Pick<Limits, 'accountCpus' | 'accountMemoryMb' | 'accountDiskMb'> = {};
  if (limits?.accountCpus !== undefined) caps.accountCpus = limits.accountCpus;
  if (limits?.accountMemoryMb !== undefined) caps.accountMemoryMb = limits.accountMemoryMb;
  if (limits?.accountDiskMb !== undefined) caps.accountDiskMb = limits.accountDiskMb;
  return caps;
}
