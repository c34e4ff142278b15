// The lifecycle's rules without side effects: defaults, reading request bodies into changes, deadlines, and
// the answer's shape (the official SDK's LifecycleStatus).
import {
  AppError,
  type FilesystemSnapshots,
  type IdlePolicyBody,
  type MakePermanentBody,
  type MakeTemporaryBody,
  noFilesystemSnapshots,
  parseDuration,
  type RestartPolicy,
  type TtlAction,
  type UpdateTtlBody,
  type WorkspaceDriver,
} from '@cove/protocol';
import type { LifecycleEventRecord, LifecycleRecord, WorkspaceRecord } from '../store/records.js';

/** A temporary workspace without a TTL of its own lives this long. */
export const DEFAULT_TTL_SECONDS = 3600;
/** Events kept per workspace (oldest dropped). */
const EVENTS_KEPT = 20;

/**
 * Why memory snapshots (suspend to disk) are not offered. Suspend is a pause with the memory kept in RAM
 * (cgroup freezer); a memory-to-disk suspend would take its place behind the same `suspend` action.
 */
export const SNAPSHOT_UNAVAILABLE_REASON =
  "memory snapshots need CRIU, and Debian's CRIU 3.17 fails to checkpoint on this kernel (vDSO); suspend keeps the memory in RAM (a frozen cgroup)";

export function defaultLifecycle(workspaceId: string, now: string): LifecycleRecord {
  return {
    workspaceId,
    mode: 'permanent',
    ttlSeconds: null,
    ttlAction: 'stop',
    expiresAt: null,
    removeOnExit: false,
    idleSuspendAfter: null,
    idleStopAfter: null,
    restartPolicy: 'never',
    maxRestarts: 0,
    restartCount: 0,
    lastRestartAt: null,
    lastActivityAt: now,
    suspendedAt: null,
    stoppedBy: null,
    wakeOnTraffic: false,
    startedAt: now,
    events: [],
    createdAt: now,
    updatedAt: now,
  };
}

export function addEvent(lc: LifecycleRecord, event: Omit<LifecycleEventRecord, 'at'>, at = new Date().toISOString()): void {
  lc.events = [...lc.events, { at, ...event }].slice(-EVENTS_KEPT);
}

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (text: string | null): number | undefined => (text === null ? undefined : Date.parse(text));

/** Makes the workspace temporary; unset fields keep what it had (a fresh TTL counts from now). */
export function makeTemporary(lc: LifecycleRecord, body: MakeTemporaryBody, now: number): void {
  const ttl = body.ttl !== undefined ? parseDuration(body.ttl, 'ttl') : (lc.ttlSeconds ?? DEFAULT_TTL_SECONDS);
  lc.mode = 'temporary';
  lc.ttlSeconds = ttl;
  if (body.ttl_action !== undefined) lc.ttlAction = body.ttl_action;
  if (body.remove_on_exit !== undefined) lc.removeOnExit = body.remove_on_exit;
  lc.expiresAt = iso(now + ttl * 1000);
}

/** Makes the workspace permanent: no TTL, not removed on exit; the restart policy as given. */
export function makePermanent(lc: LifecycleRecord, body: MakePermanentBody): void {
  lc.mode = 'permanent';
  lc.ttlSeconds = null;
  lc.expiresAt = null;
  lc.removeOnExit = false;
  setRestartPolicy(lc, body.restart_policy, body.max_restarts);
}

export function setRestartPolicy(lc: LifecycleRecord, policy: RestartPolicy | undefined, max: number | undefined): void {
  if (policy !== undefined) lc.restartPolicy = policy;
  if (max !== undefined) lc.maxRestarts = max;
  if (policy !== undefined || max !== undefined) lc.restartCount = 0;
}

/** A TTL change: a new TTL counts from now (and makes the workspace temporary); an action alone keeps the clock. */
export function updateTtl(lc: LifecycleRecord, body: UpdateTtlBody, now: number): void {
  if (body.ttl === undefined && body.ttl_action === undefined) throw new AppError('bad_request', 'give ttl, ttl_action or both');
  if (body.ttl !== undefined) {
    makeTemporary(lc, body, now);
    return;
  }
  if (lc.mode !== 'temporary') {
    throw new AppError('bad_request', 'the workspace is permanent: give a ttl (or make it temporary) to set what happens when it runs out');
  }
  lc.ttlAction = body.ttl_action as TtlAction;
}

/** `suspend_after` 0 or null (or absent) clears the policy; `stop_after` 0 or null means stay suspended. */
export function setIdle(lc: LifecycleRecord, body: IdlePolicyBody | null, now: number): void {
  const suspend =
    body?.suspend_after === undefined || body.suspend_after === null ? 0 : parseDuration(body.suspend_after, 'suspend_after', true);
  const stop = body?.stop_after === undefined || body.stop_after === null ? 0 : parseDuration(body.stop_after, 'stop_after', true);
  if (suspend === 0) {
    lc.idleSuspendAfter = null;
    lc.idleStopAfter = null;
    return;
  }
  lc.idleSuspendAfter = suspend;
  lc.idleStopAfter = stop === 0 ? null : stop;
  // The idle clock starts when the policy does.
  lc.lastActivityAt = iso(now);
}

/** What a create asks of the lifecycle, checked before anything is made; undefined when it asks nothing. */
export interface CreateLifecycle {
  apply(lc: LifecycleRecord, now: number): void;
}

export function createLifecyclePlan(body: Record<string, unknown>): CreateLifecycle | undefined {
  const b = body as {
    mode?: 'permanent' | 'temporary';
    ttl?: number | string;
    ttl_action?: TtlAction;
    remove_on_exit?: boolean;
    idle?: IdlePolicyBody | null;
    restart_policy?: RestartPolicy;
    max_restarts?: number;
  };
  const asked = ['mode', 'ttl', 'ttl_action', 'remove_on_exit', 'idle', 'restart_policy', 'max_restarts'].some(
    (k) => body[k] !== undefined,
  );
  if (!asked) return undefined;
  const temporary =
    b.mode === 'temporary' || (b.mode === undefined && (b.ttl !== undefined || b.ttl_action !== undefined || b.remove_on_exit === true));
  if (!temporary && (b.ttl !== undefined || b.ttl_action !== undefined || b.remove_on_exit === true)) {
    throw new AppError('bad_request', 'ttl, ttl_action and remove_on_exit need mode temporary');
  }
  // Checked now, so that a bad duration is a 400 before the workspace exists.
  const scratch = defaultLifecycle('check', new Date(0).toISOString());
  if (temporary) makeTemporary(scratch, { ...(b.ttl !== undefined ? { ttl: b.ttl } : {}) }, 0);
  if (b.idle) setIdle(scratch, b.idle, 0);
  return {
    apply(lc, now) {
      if (temporary) {
        makeTemporary(
          lc,
          {
            ...(b.ttl !== undefined ? { ttl: b.ttl } : {}),
            ...(b.ttl_action !== undefined ? { ttl_action: b.ttl_action } : {}),
            ...(b.remove_on_exit !== undefined ? { remove_on_exit: b.remove_on_exit } : {}),
          },
          now,
        );
      }
      if (b.idle) setIdle(lc, b.idle, now);
      setRestartPolicy(lc, b.restart_policy, b.max_restarts);
    },
  };
}

/** The lifecycle's next deadline for the workspace as it is (ms since the epoch), or undefined for none. */
export function nextDeadline(ws: WorkspaceRecord, lc: LifecycleRecord): number | undefined {
  const at: number[] = [];
  const ttl = ttlDeadline(ws, lc);
  if (ttl !== undefined) at.push(ttl);
  const idle = idleDeadline(ws, lc);
  if (idle !== undefined) at.push(idle.at);
  if (ws.status === 'stopped' && lc.mode === 'temporary' && lc.removeOnExit) at.push(0);
  return at.length === 0 ? undefined : Math.min(...at);
}

/** When the TTL's action is due: only while it would change something (a paused workspace is not paused again). */
export function ttlDeadline(ws: WorkspaceRecord, lc: LifecycleRecord): number | undefined {
  if (lc.mode !== 'temporary' || lc.expiresAt === null) return undefined;
  const applies =
    lc.ttlAction === 'remove' ||
    (lc.ttlAction === 'stop' && ws.status !== 'stopped') ||
    ((lc.ttlAction === 'pause' || lc.ttlAction === 'suspend') && ws.status === 'running');
  return applies ? ms(lc.expiresAt) : undefined;
}

/** The idle policy's next step: suspend a running workspace, or stop one it suspended. */
export function idleDeadline(ws: WorkspaceRecord, lc: LifecycleRecord): { at: number; step: 'suspend' | 'stop' } | undefined {
  if (lc.idleSuspendAfter === null || lc.idleSuspendAfter <= 0) return undefined;
  if (ws.status === 'running') {
    const since = ms(lc.lastActivityAt) ?? ms(lc.startedAt) ?? Date.parse(ws.createdAt);
    return { at: since + lc.idleSuspendAfter * 1000, step: 'suspend' };
  }
  if (ws.status === 'paused' && lc.stoppedBy === 'idle' && lc.idleStopAfter !== null && lc.idleStopAfter > 0 && lc.suspendedAt !== null) {
    return { at: Date.parse(lc.suspendedAt) + lc.idleStopAfter * 1000, step: 'stop' };
  }
  return undefined;
}

/** `GET /workspace/:id/lifecycle`: the SDK's LifecycleStatus, plus what Cove adds (history, why it sleeps). */
export function presentLifecycle(ws: WorkspaceRecord, lc: LifecycleRecord, driver: WorkspaceDriver, now = Date.now()) {
  const started = ms(lc.startedAt) ?? Date.parse(ws.createdAt);
  return {
    success: true as const,
    workspace_id: ws.id,
    mode: lc.mode,
    status: ws.status,
    ...(lc.ttlSeconds !== null ? { ttl: lc.ttlSeconds, ttl_seconds: lc.ttlSeconds } : {}),
    ttl_action: lc.ttlAction,
    ...(lc.expiresAt !== null ? { expires_at: lc.expiresAt } : {}),
    remove_on_exit: lc.removeOnExit,
    idle: lc.idleSuspendAfter ? { suspend_after: lc.idleSuspendAfter, stop_after: lc.idleStopAfter ?? 0 } : null,
    restart_policy: lc.restartPolicy,
    max_restarts: lc.maxRestarts,
    restart_info: { count: lc.restartCount, last_restart_at: lc.lastRestartAt },
    uptime: ws.status === 'running' ? Math.max(0, Math.floor((now - started) / 1000)) : 0,
    snapshot_supported: false,
    snapshot_unavailable_reason: SNAPSHOT_UNAVAILABLE_REASON,
    filesystem_snapshots: filesystemSnapshots(driver),
    suspend_mode: driver.canPause ? 'pause' : 'stop',
    stopped_by: ws.status === 'running' ? null : lc.stoppedBy,
    wake_on_traffic: ws.status === 'paused' || (ws.status === 'stopped' && lc.wakeOnTraffic),
    last_activity_at: lc.lastActivityAt,
    events: lc.events,
    created_at: lc.createdAt,
  };
}

/** What the driver does with a file system (snapshots, archives, forks): the capability clients offer them by. */
export function filesystemSnapshots(driver: WorkspaceDriver): FilesystemSnapshots {
  const snapshots = driver.snapshots;
  return {
    supported: snapshots !== undefined,
    constant_time_fork: snapshots?.constantTimeFork ?? false,
    unavailable_reason: snapshots === undefined ? noFilesystemSnapshots(driver.name) : null,
  };
}
