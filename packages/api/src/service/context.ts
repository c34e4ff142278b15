import { AppError, type WorkspaceDriver } from '@cove/protocol';
import type { Logger } from 'pino';
import type { WorkspaceRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { isWorkspaceId } from './ids.js';
import { KeyedLock } from './keyed-lock.js';
import type { LifecycleHooks } from './lifecycle-hooks.js';

export interface Limits {
  /** Workspaces one owner may have. */
  maxWorkspaces: number;
  /** Lifetime of standard gateway JWTs (1 h; shorter only for tests of token refresh). */
  sessionTokenTtlSeconds: number;
  /** CPUs, MiB of memory and MiB of disk one owner's workspaces may have in all (absent: no cap; see resources.ts). */
  accountCpus?: number;
  accountMemoryMb?: number;
  accountDiskMb?: number;
}

/** Where public port URLs point: `<gateway scheme>://<slug>.<previewDomain>:<gateway port>/`. */
export interface PublicUrls {
  /** The domain the gateway serves public ports under (by host name). */
  previewDomain: string;
  /** The gateway's public URL (its scheme and port are the public URLs'). */
  gatewayUrl: URL;
}

/** What every control-plane service works with. */
export interface ControlContext {
  store: Store;
  driver: WorkspaceDriver;
  /** HS256 secret shared with the gateway. */
  jwtSecret: Uint8Array;
  log: Logger;
  limits: Limits;
  publicUrls: PublicUrls;
  /** Serialises state changes of one workspace. */
  locks: KeyedLock;
  /** Told what users do to workspaces (set once the lifecycle runs). */
  lifecycle?: LifecycleHooks;
}

export function createContext(init: Omit<ControlContext, 'locks'>): ControlContext {
  return { ...init, locks: new KeyedLock() };
}

/**
 * The owner's workspace, or 404. Another owner's workspace is 404 too, so
 * that ids of other accounts cannot be probed.
 */
export async function ownedWorkspace(ctx: ControlContext, owner: string, id: string): Promise<WorkspaceRecord> {
  const record = isWorkspaceId(id) ? await ctx.store.getWorkspace(id) : undefined;
  if (!record || record.owner !== owner) throw new AppError('not_found', `workspace '${id}' not found`);
  return record;
}

/** Store update that must find the row (it was just read under the workspace lock). */
export function present<T>(value: T | undefined, id: string): T {
  if (value === undefined) throw new AppError('not_found', `workspace '${id}' not found`);
  return value;
}
