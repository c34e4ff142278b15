// The workspace_lifecycle table's rows and the control plane's LifecycleRecord, both ways.
import type { LifecycleEventRecord, LifecycleRecord, StoppedBy } from './records.js';

export interface LifecycleRow {
  workspace_id: string;
  mode: string;
  ttl_seconds: number | null;
  ttl_action: string;
  expires_at: string | null;
  remove_on_exit: number;
  idle_suspend_after: number | null;
  idle_stop_after: number | null;
  restart_policy: string;
  max_restarts: number;
  restart_count: number;
  last_restart_at: string | null;
  last_activity_at: string | null;
  suspended_at: string | null;
  stopped_by: string | null;
  wake_on_traffic: number;
  started_at: string | null;
  events: string;
  created_at: string;
  updated_at: string;
}

export const LIFECYCLE_COLUMNS = [
  'workspace_id',
  'mode',
  'ttl_seconds',
  'ttl_action',
  'expires_at',
  'remove_on_exit',
  'idle_suspend_after',
  'idle_stop_after',
  'restart_policy',
  'max_restarts',
  'restart_count',
  'last_restart_at',
  'last_activity_at',
  'suspended_at',
  'stopped_by',
  'wake_on_traffic',
  'started_at',
  'events',
  'created_at',
  'updated_at',
] as const;

/** `INSERT … ON CONFLICT DO UPDATE` of a whole row (SQLite and PostgreSQL share the syntax). */
export const UPSERT_LIFECYCLE = `INSERT INTO workspace_lifecycle (${LIFECYCLE_COLUMNS.join(', ')})
  VALUES (${LIFECYCLE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (workspace_id) DO UPDATE SET ${LIFECYCLE_COLUMNS.slice(1)
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}`;

const nullableNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toLifecycle(row: LifecycleRow): LifecycleRecord {
  const ttlAction = row.ttl_action;
  const policy = row.restart_policy;
  const stoppedBy = row.stopped_by;
  let events: LifecycleEventRecord[] = [];
  try {
    const parsed: unknown = JSON.parse(row.events);
    if (Array.isArray(parsed)) events = parsed as LifecycleEventRecord[];
  } catch {
    // A damaged history is dropped, never fatal.
  }
  return {
    workspaceId: row.workspace_id,
    mode: row.mode === 'temporary' ? 'temporary' : 'permanent',
    ttlSeconds: nullableNumber(row.ttl_seconds),
    ttlAction: ttlAction === 'pause' || ttlAction === 'suspend' || ttlAction === 'remove' ? ttlAction : 'stop',
    expiresAt: row.expires_at,
    removeOnExit: Boolean(Number(row.remove_on_exit)),
    idleSuspendAfter: nullableNumber(row.idle_suspend_after),
    idleStopAfter: nullableNumber(row.idle_stop_after),
    restartPolicy: policy === 'on-failure' || policy === 'always' ? policy : 'never',
    maxRestarts: Number(row.max_restarts),
    restartCount: Number(row.restart_count),
    lastRestartAt: row.last_restart_at,
    lastActivityAt: row.last_activity_at,
    suspendedAt: row.suspended_at,
    stoppedBy:
      stoppedBy === 'user' || stoppedBy === 'ttl' || stoppedBy === 'idle' || stoppedBy === 'failure' ? (stoppedBy as StoppedBy) : null,
    wakeOnTraffic: Boolean(Number(row.wake_on_traffic)),
    startedAt: row.started_at,
    events,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function fromLifecycle(r: LifecycleRecord): unknown[] {
  const row: Record<(typeof LIFECYCLE_COLUMNS)[number], unknown> = {
    workspace_id: r.workspaceId,
    mode: r.mode,
    ttl_seconds: r.ttlSeconds,
    ttl_action: r.ttlAction,
    expires_at: r.expiresAt,
    remove_on_exit: r.removeOnExit ? 1 : 0,
    idle_suspend_after: r.idleSuspendAfter,
    idle_stop_after: r.idleStopAfter,
    restart_policy: r.restartPolicy,
    max_restarts: r.maxRestarts,
    restart_count: r.restartCount,
    last_restart_at: r.lastRestartAt,
    last_activity_at: r.lastActivityAt,
    suspended_at: r.suspendedAt,
    stopped_by: r.stoppedBy,
    wake_on_traffic: r.wakeOnTraffic ? 1 : 0,
    started_at: r.startedAt,
    events: JSON.stringify(r.events),
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
  return LIFECYCLE_COLUMNS.map((c) => row[c]);
}
