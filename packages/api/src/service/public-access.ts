import { AppError, type ExposePortBody, SERVER_DEFAULTS, type UpdateSlugBody } from '@cove/protocol';
import type { PublicPortPatch, PublicPortRecord, WorkspaceRecord } from '../store/records.js';
import { ensureAgent } from './api-access.js';
import { type ControlContext, ownedWorkspace, present } from './context.js';
import { newRawToken } from './ids.js';
import { resolvedNetwork } from './network.js';
import { checkSlug, generateSlug, newPortToken } from './public-slugs.js';

/** Generated slugs that collide (36^6 per port and workspace) are drawn again this many times. */
const SLUG_ATTEMPTS = 5;

/** An exposed port as the official SDK reads it (`PublicAccessPort`), plus Cove's `auth` and, once, `token`. */
function presentPort(ctx: ControlContext, p: PublicPortRecord, token?: string) {
  const { previewDomain, gatewayUrl } = ctx.publicUrls;
  const host = `${p.slug}.${previewDomain}${gatewayUrl.port ? `:${gatewayUrl.port}` : ''}`;
  return {
    port: p.port,
    url: `${gatewayUrl.protocol}//${host}/`,
    slug: p.slug,
    hash: p.slug,
    domain: previewDomain,
    ...(p.label !== null ? { label: p.label } : {}),
    auth: p.auth,
    workspace_id: p.workspaceId,
    generation: p.generation,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    ...(token !== undefined ? { token } : {}),
  };
}

/** `:port` of the path: a canonical decimal 1–65535, else 400. */
function portParam(raw: string): number {
  const port = /^[1-9][0-9]{0,4}$/.test(raw) ? Number(raw) : 0;
  if (port < 1 || port > 65535) throw new AppError('bad_request', `invalid parameter 'port': expected an integer 1-65535, got '${raw}'`);
  return port;
}

function checkPort(port: number): void {
  if (port === SERVER_DEFAULTS.agentPort) {
    throw new AppError('bad_request', `invalid parameter 'port': ${port} is the workspace agent's own port and cannot be exposed`);
  }
}

function slugTaken(slug: string): AppError {
  return new AppError('conflict', `slug '${slug}' is already in use`);
}

/**
 * The gateway reaches exposed ports through the agent's `/proxy` with the agent's raw token, so exposing a
 * port turns on the agent's server as `enable` does (without issuing a JWT): now if the workspace runs, else
 * at its next start. Caller holds the workspace lock.
 */
async function ensureReachable(ctx: ControlContext, ws: WorkspaceRecord): Promise<WorkspaceRecord> {
  let next = ws;
  if (!next.accessEnabled || !next.rawToken) {
    next = present(await ctx.store.updateWorkspace(ws.id, { accessEnabled: true, rawToken: next.rawToken ?? newRawToken() }), ws.id);
  }
  if (next.status === 'running') next = await ensureAgent(ctx, next, next.rawToken as string);
  return next;
}

/** Hands the driver the network with the current exposed ports (the firewall lets the host reach the agent while any is). */
async function applyExposure(ctx: ControlContext, id: string): Promise<void> {
  const ws = present(await ctx.store.getWorkspace(id), id);
  await ctx.driver.applyNetwork(id, await resolvedNetwork(ctx, ws));
}

/** `GET /workspace/:id/public-access` */
export async function listPorts(ctx: ControlContext, owner: string, id: string) {
  const ws = await ownedWorkspace(ctx, owner, id);
  const ports = await ctx.store.listPublicPorts(ws.id);
  return { success: true as const, workspace_id: ws.id, ports: ports.map((p) => presentPort(ctx, p)) };
}

/**
 * `POST /workspace/:id/public-access`: exposes a port, idempotently. On an exposed port, the fields given
 * change it (slug, label, auth); a slug or auth change is a new generation, and switching to `token` issues
 * a new token (shown in this answer only).
 */
export async function exposePort(ctx: ControlContext, owner: string, id: string, body: ExposePortBody) {
  await ownedWorkspace(ctx, owner, id);
  checkPort(body.port);
  if (body.slug !== undefined) checkSlug(body.slug);
  if (body.domain !== undefined && body.domain.toLowerCase().replace(/\.$/, '') !== ctx.publicUrls.previewDomain) {
    throw new AppError(
      'bad_request',
      `invalid parameter 'domain': ports are served under '${ctx.publicUrls.previewDomain}' only (custom domains are not supported)`,
    );
  }
  return ctx.locks.run(id, async () => {
    const ws = await ownedWorkspace(ctx, owner, id);
    const existing = (await ctx.store.listPublicPorts(id)).find((p) => p.port === body.port);
    if (existing) return { ...(await changePort(ctx, ws, existing, body)), created: false };
    const issued = body.auth === 'token' ? newPortToken() : undefined;
    const now = new Date().toISOString();
    let inserted: PublicPortRecord | 'slug_taken' | 'port_taken' = 'slug_taken';
    for (let attempt = 0; attempt < SLUG_ATTEMPTS && inserted === 'slug_taken'; attempt++) {
      inserted = await ctx.store.insertPublicPort({
        workspaceId: id,
        port: body.port,
        slug: body.slug ?? generateSlug(id, body.port),
        label: body.label ?? null,
        auth: body.auth ?? 'public',
        tokenSha256: issued?.sha256 ?? null,
        createdAt: now,
        updatedAt: now,
      });
      if (inserted === 'slug_taken' && body.slug !== undefined) throw slugTaken(body.slug);
    }
    // The port row is unique per workspace and the lock serialises this workspace: only another instance races here.
    if (inserted === 'port_taken') throw new AppError('conflict', `port ${body.port} is being exposed by another request; retry`);
    if (inserted === 'slug_taken') throw new AppError('internal_error', 'could not generate a free slug');
    await ensureReachable(ctx, ws);
    await applyExposure(ctx, id);
    return { success: true as const, workspace_id: id, port: presentPort(ctx, inserted, issued?.token), created: true };
  });
}

async function changePort(ctx: ControlContext, ws: WorkspaceRecord, existing: PublicPortRecord, body: ExposePortBody) {
  const patch: PublicPortPatch = {};
  let token: string | undefined;
  if (body.slug !== undefined && body.slug !== existing.slug) patch.slug = body.slug;
  if (body.label !== undefined && body.label !== existing.label) patch.label = body.label;
  if (body.auth !== undefined && body.auth !== existing.auth) {
    patch.auth = body.auth;
    const issued = body.auth === 'token' ? newPortToken() : undefined;
    token = issued?.token;
    patch.tokenSha256 = issued?.sha256 ?? null;
  }
  let port = existing;
  if (Object.keys(patch).length > 0) {
    const bump = patch.slug !== undefined || patch.auth !== undefined;
    const updated = await ctx.store.updatePublicPort(ws.id, existing.port, patch, bump);
    if (updated === 'slug_taken') throw slugTaken(body.slug as string);
    port = present(updated, ws.id);
  }
  // The agent may have been disabled since the port was exposed: exposing again brings it back.
  await ensureReachable(ctx, ws);
  return { success: true as const, workspace_id: ws.id, port: presentPort(ctx, port, token) };
}

/** `PATCH /workspace/:id/public-access/:port`: a new slug (a new generation: connections under the old URL are cut). */
export async function updateSlug(ctx: ControlContext, owner: string, id: string, rawPort: string, body: UpdateSlugBody) {
  await ownedWorkspace(ctx, owner, id);
  const port = portParam(rawPort);
  checkSlug(body.slug);
  return ctx.locks.run(id, async () => {
    await ownedWorkspace(ctx, owner, id);
    const existing = (await ctx.store.listPublicPorts(id)).find((p) => p.port === port);
    if (!existing) throw new AppError('not_found', `port ${port} is not exposed on workspace '${id}'`);
    if (existing.slug === body.slug) return { success: true as const, workspace_id: id, port: presentPort(ctx, existing), created: false };
    const updated = await ctx.store.updatePublicPort(id, port, { slug: body.slug }, true);
    if (updated === 'slug_taken') throw slugTaken(body.slug);
    return { success: true as const, workspace_id: id, port: presentPort(ctx, present(updated, id)), created: false };
  });
}

/** `DELETE /workspace/:id/public-access/:port`: the URL stops answering at once (the gateway cuts its connections). */
export async function revokePort(ctx: ControlContext, owner: string, id: string, rawPort: string) {
  await ownedWorkspace(ctx, owner, id);
  const port = portParam(rawPort);
  return ctx.locks.run(id, async () => {
    await ownedWorkspace(ctx, owner, id);
    if (!(await ctx.store.deletePublicPort(id, port))) throw new AppError('not_found', `port ${port} is not exposed on workspace '${id}'`);
    await applyExposure(ctx, id);
    return { success: true as const, workspace_id: id, port, revoked: true as const };
  });
}
