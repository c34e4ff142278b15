import { AppError } from '@cove/protocol';
import { type IssuedJwt, signGatewayJwt } from '../auth/gateway-jwt.js';
import type { WorkspaceRecord } from '../store/records.js';
import { type ControlContext, ownedWorkspace, present } from './context.js';
import { newRawToken } from './ids.js';

/** `GET …/internal-api-access` */
export async function accessStatus(ctx: ControlContext, owner: string, id: string) {
  const ws = await ownedWorkspace(ctx, owner, id);
  return {
    success: true as const,
    workspace_id: ws.id,
    enabled: ws.accessEnabled,
    running: ctx.driver.agentRunning(ws.id),
    token_type: 'gateway' as const,
    token_generation: ws.generation,
    token_expires_at: ws.accessEnabled ? ws.tokenExpiresAt : null,
    ip: ws.accessEnabled ? ws.ip : null,
    port: ws.accessEnabled ? ws.port : null,
  };
}

function requireRunning(ws: WorkspaceRecord): void {
  if (ws.status === 'paused') throw new AppError('conflict', `workspace '${ws.id}' is paused; resume it first`);
  if (ws.status !== 'running') throw new AppError('conflict', `workspace '${ws.id}' is stopped; start it first`);
}

function requireEnabled(ws: WorkspaceRecord): void {
  if (!ws.accessEnabled || !ws.rawToken) {
    throw new AppError('conflict', `internal API access is not enabled on workspace '${ws.id}'; enable it first`);
  }
}

/**
 * The workspace as reads of its tokens need it: access enabled but no agent address yet is an enable (or a
 * start) in progress under the workspace's lock, so the record is read again once that is done; otherwise a
 * caller racing it would be told there is no agent. The common case takes no lock.
 */
async function settledWorkspace(ctx: ControlContext, owner: string, id: string): Promise<WorkspaceRecord> {
  const ws = await ownedWorkspace(ctx, owner, id);
  if (!ws.accessEnabled || (ws.ip !== null && ws.port !== null)) return ws;
  return ctx.locks.run(id, () => ownedWorkspace(ctx, owner, id));
}

/** Starts the agent if it is not running (it crashed, or the control plane restarted) and records its address. */
export async function ensureAgent(ctx: ControlContext, ws: WorkspaceRecord, token: string): Promise<WorkspaceRecord> {
  if (ctx.driver.agentRunning(ws.id) && ws.ip !== null && ws.port !== null) return ws;
  const endpoint = await ctx.driver.startAgent(ws.id, token, ws.port);
  return present(await ctx.store.updateWorkspace(ws.id, { ip: endpoint.ip, port: endpoint.port }), ws.id);
}

async function issue(ctx: ControlContext, ws: WorkspaceRecord, kind: 'session' | 'workspace', record = true) {
  if (ws.ip === null || ws.port === null) throw new AppError('conflict', `workspace '${ws.id}' has no running agent`);
  const jwt: IssuedJwt = await signGatewayJwt(
    ctx.jwtSecret,
    { workspaceId: ws.id, ip: ws.ip, port: ws.port, generation: ws.generation },
    kind,
    Date.now(),
    ctx.limits.sessionTokenTtlSeconds,
  );
  if (record && kind === 'session') await ctx.store.updateWorkspace(ws.id, { tokenExpiresAt: jwt.expiresAt.toISOString() });
  return {
    success: true as const,
    workspace_id: ws.id,
    enabled: true as const,
    token: jwt.token,
    token_type: 'gateway' as const,
    kind,
    token_generation: ws.generation,
    expires_in: jwt.claims.exp - jwt.claims.iat,
    expires_at: jwt.expiresAt.toISOString(),
    token_expires_at: jwt.expiresAt.toISOString(),
    ip: ws.ip,
    port: ws.port,
  };
}

/** `POST …/enable`: idempotent; a running server keeps running and its raw token stays. */
export async function enableAccess(ctx: ControlContext, owner: string, id: string) {
  await ownedWorkspace(ctx, owner, id);
  return ctx.locks.run(id, async () => {
    let ws = await ownedWorkspace(ctx, owner, id);
    requireRunning(ws);
    const token = ws.accessEnabled && ws.rawToken ? ws.rawToken : newRawToken();
    if (!ws.accessEnabled || ws.rawToken !== token) {
      ws = present(await ctx.store.updateWorkspace(id, { accessEnabled: true, rawToken: token }), id);
    }
    ws = await ensureAgent(ctx, ws, token);
    return issue(ctx, ws, 'session');
  });
}

/** `POST …/disable`: stops the server (its sessions die with it) and revokes every token. */
export async function disableAccess(ctx: ControlContext, owner: string, id: string) {
  await ownedWorkspace(ctx, owner, id);
  return ctx.locks.run(id, async () => {
    await ownedWorkspace(ctx, owner, id);
    await ctx.driver.stopAgent(id);
    const ws = present(await ctx.store.bumpGeneration(id, { accessEnabled: false, rawToken: null, tokenExpiresAt: null }), id);
    return { success: true as const, workspace_id: id, enabled: false as const, token_generation: ws.generation };
  });
}

/** `POST …/token`: a new raw token on the agent and a new generation; every older token is refused from now on. */
export async function rotateToken(ctx: ControlContext, owner: string, id: string) {
  await ownedWorkspace(ctx, owner, id);
  return ctx.locks.run(id, async () => {
    let ws = await ownedWorkspace(ctx, owner, id);
    requireEnabled(ws);
    requireRunning(ws);
    const token = newRawToken();
    if (ctx.driver.agentRunning(id)) await ctx.driver.setAgentToken(id, token);
    ws = present(await ctx.store.bumpGeneration(id, { rawToken: token }), id);
    ws = await ensureAgent(ctx, ws, token);
    return issue(ctx, ws, 'session');
  });
}

/** `GET …/token`: a fresh JWT of the current generation, without side effects on the workspace. */
export async function currentToken(ctx: ControlContext, owner: string, id: string) {
  const ws = await settledWorkspace(ctx, owner, id);
  requireEnabled(ws);
  requireRunning(ws);
  return issue(ctx, ws, 'session', false);
}

/** `GET …/token/raw`: the agent's own token and address, for direct connections. */
export async function rawToken(ctx: ControlContext, owner: string, id: string) {
  const ws = await settledWorkspace(ctx, owner, id);
  requireEnabled(ws);
  requireRunning(ws);
  if (ws.ip === null || ws.port === null || ws.rawToken === null) throw new AppError('conflict', `workspace '${id}' has no running agent`);
  return { success: true as const, workspace_id: ws.id, token: ws.rawToken, ip: ws.ip, port: ws.port };
}

/** `POST …/reconnect`: brings the server back if it died and returns a fresh JWT for its current address. */
export async function reconnect(ctx: ControlContext, owner: string, id: string) {
  await ownedWorkspace(ctx, owner, id);
  return ctx.locks.run(id, async () => {
    let ws = await ownedWorkspace(ctx, owner, id);
    requireEnabled(ws);
    requireRunning(ws);
    ws = await ensureAgent(ctx, ws, ws.rawToken as string);
    return { ...(await issue(ctx, ws, 'session')), reconnected: true };
  });
}

/** `POST …/workspace`: the 30-day JWT (revoked like the others by rotate and disable). */
export async function workspaceToken(ctx: ControlContext, owner: string, id: string) {
  const ws = await ownedWorkspace(ctx, owner, id);
  requireEnabled(ws);
  requireRunning(ws);
  return issue(ctx, ws, 'workspace', false);
}
