import type { WorkspaceRecord } from '../store/records.js';
import type { CreateLifecycle } from './lifecycle-policy.js';

/** What a user's power verb was (the lifecycle's view of workspaces.ts' PowerVerb). */
export type UserVerb = 'start' | 'stop' | 'restart' | 'pause' | 'resume';

/**
 * How the workspace services tell the lifecycle what users did, so that it can tell a user's stop (never woken
 * by traffic, never restarted) from its own, and restart its clocks. Called with the workspace's lock held
 * (but `created`).
 */
export interface LifecycleHooks {
  /** A user's power verb ran; `ws` is the workspace after it. */
  powered(ws: WorkspaceRecord, verb: UserVerb): Promise<void>;
  /** A workspace was created with lifecycle fields (checked before it was made). Takes the lock itself. */
  created(ws: WorkspaceRecord, plan: CreateLifecycle | undefined): Promise<void>;
  /** A ping: activity now, and a temporary workspace's TTL renewed (for `ttlSeconds` when given). */
  pinged(ws: WorkspaceRecord, ttlSeconds: number | undefined): Promise<void>;
}
