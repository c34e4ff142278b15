import { AppError, type NetworkSettings, type NetworkUpdateBody, type ResolvedNetwork } from '@cove/protocol';
import type { WorkspaceRecord } from '../store/records.js';
import { type ControlContext, ownedWorkspace, present } from './context.js';
import { normalizeEgress } from './egress.js';
import { isWorkspaceId } from './ids.js';
import { presentNetwork } from './present.js';

/** Resolves private-link ids to the peers' current addresses; peers deleted since are dropped. */
async function resolveLinks(ctx: ControlContext, ws: WorkspaceRecord): Promise<ResolvedNetwork['privateLinks']> {
  const links: ResolvedNetwork['privateLinks'] = [];
  for (const peerId of ws.network.privateLinkIds) {
    const peer = await ctx.store.getWorkspace(peerId);
    if (peer && peer.owner === ws.owner) links.push({ workspaceId: peer.id, ip: peer.ip });
  }
  return links;
}

/** What the driver is handed: the settings, links resolved, and the exposed ports (the host must reach the agent for them). */
export async function resolvedNetwork(ctx: ControlContext, ws: WorkspaceRecord, settings = ws.network): Promise<ResolvedNetwork> {
  const exposedPorts = (await ctx.store.listPublicPorts(ws.id)).map((p) => p.port);
  return { ...settings, privateLinks: await resolveLinks(ctx, ws), exposedPorts };
}

export async function getNetwork(ctx: ControlContext, owner: string, id: string) {
  const ws = await ownedWorkspace(ctx, owner, id);
  return presentNetwork(ws, ctx.driver, await resolveLinks(ctx, ws));
}

/** A partial update: fields not in the body keep their values. */
export async function updateNetwork(ctx: ControlContext, owner: string, id: string, body: NetworkUpdateBody) {
  await ownedWorkspace(ctx, owner, id);
  if (body.outbound_mode === 'custom' || body.custom_proxy !== undefined) {
    throw new AppError(
      'bad_request',
      "invalid parameter 'outbound_mode': custom outbound proxies are not supported; traffic leaves through the host",
    );
  }
  const links = body.private_link_ids === undefined ? undefined : await checkLinks(ctx, owner, id, body.private_link_ids);
  return ctx.locks.run(id, async () => {
    const ws = await ownedWorkspace(ctx, owner, id);
    const next: NetworkSettings = {
      publicAccess: body.public_access ?? ws.network.publicAccess,
      allowInternet: body.allow_internet ?? ws.network.allowInternet,
      privateLinkIds: links ?? ws.network.privateLinkIds,
      ingressPorts: body.ingress_ports ? [...new Set(body.ingress_ports)].sort((a, b) => a - b) : ws.network.ingressPorts,
      egress: body.egress ? normalizeEgress(body.egress) : ws.network.egress,
    };
    const updated = present(await ctx.store.updateWorkspace(id, { network: next }), id);
    const resolved = await resolvedNetwork(ctx, updated);
    await ctx.driver.applyNetwork(id, resolved);
    return presentNetwork(updated, ctx.driver, resolved.privateLinks);
  });
}

async function checkLinks(ctx: ControlContext, owner: string, id: string, ids: readonly string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  for (const peerId of unique) {
    if (peerId === id) throw new AppError('bad_request', "invalid parameter 'private_link_ids': a workspace cannot link to itself");
    const peer = isWorkspaceId(peerId) ? await ctx.store.getWorkspace(peerId) : undefined;
    if (!peer || peer.owner !== owner) {
      throw new AppError('bad_request', `invalid parameter 'private_link_ids': no workspace '${peerId}'`);
    }
  }
  return unique;
}
