import { type Static, Type } from '@sinclair/typebox';
import { AppError } from './errors.js';

/**
 * The lifecycle of workspaces on the wire (the official SDK's `lifecycle` resource): permanent or temporary
 * mode, a time to live and what happens when it runs out, an idle policy, a restart policy; and what the agent
 * tells the control plane about its use (`GET /activity`), which is what "idle" is measured against.
 */

const Opt = Type.Optional;

/** What happens when a temporary workspace's TTL runs out. */
export const TtlAction = Type.Union([Type.Literal('stop'), Type.Literal('pause'), Type.Literal('suspend'), Type.Literal('remove')]);
export type TtlAction = Static<typeof TtlAction>;

export const RestartPolicy = Type.Union([Type.Literal('never'), Type.Literal('on-failure'), Type.Literal('always')]);
export type RestartPolicy = Static<typeof RestartPolicy>;

export const LifecycleMode = Type.Union([Type.Literal('permanent'), Type.Literal('temporary')]);
export type LifecycleMode = Static<typeof LifecycleMode>;

/** A duration: whole seconds, or a number with a unit (`30s`, `10m`, `2h`, `1d`). */
export const Duration = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ maxLength: 32 })], {
  description: 'whole seconds, or `30s`, `10m`, `2h`, `1d`',
});

/** The longest duration accepted anywhere (a year): bounds dates far beyond what a workspace lives. */
export const MAX_DURATION_SECONDS = 365 * 86_400;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Seconds of a duration as the wire spells it (`90`, `"90"`, `"30s"`, `"10m"`, `"2h"`, `"1d"`). Anything else —
 * fractions, negative numbers, unknown units, more than a year — is a 400 naming `field`. 0 only where
 * `allowZero` (it clears a policy).
 */
export function parseDuration(value: unknown, field: string, allowZero = false): number {
  let seconds: number | undefined;
  if (typeof value === 'number') {
    seconds = Number.isInteger(value) ? value : undefined;
  } else if (typeof value === 'string') {
    const m = /^\s*(\d{1,9})\s*([smhd]?)\s*$/i.exec(value);
    if (m) seconds = Number(m[1]) * (UNIT_SECONDS[(m[2] || 's').toLowerCase()] ?? 1);
  }
  if (seconds === undefined || seconds < 0) {
    throw new AppError('bad_request', `invalid ${field} '${String(value)}': expected whole seconds or a duration like 30s, 10m, 2h, 1d`);
  }
  if (seconds === 0 && !allowZero) throw new AppError('bad_request', `invalid ${field}: must be at least 1 second`);
  if (seconds > MAX_DURATION_SECONDS)
    throw new AppError('bad_request', `invalid ${field}: at most ${MAX_DURATION_SECONDS} seconds (a year)`);
  return seconds;
}

/** `PUT /workspace/:id/lifecycle/idle` (and `idle` of a create): 0 or null for `suspend_after` clears it. */
export const IdlePolicyBody = Type.Object(
  {
    suspend_after: Opt(Type.Union([Duration, Type.Null()])),
    stop_after: Opt(Type.Union([Duration, Type.Null()])),
  },
  { additionalProperties: true },
);
export type IdlePolicyBody = Static<typeof IdlePolicyBody>;

/** `POST /workspace/:id/lifecycle/temporary`. */
export const MakeTemporaryBody = Type.Object(
  { ttl: Opt(Duration), ttl_action: Opt(TtlAction), remove_on_exit: Opt(Type.Boolean()) },
  { additionalProperties: true },
);
export type MakeTemporaryBody = Static<typeof MakeTemporaryBody>;

/** `POST /workspace/:id/lifecycle/permanent`. */
export const MakePermanentBody = Type.Object(
  { restart_policy: Opt(RestartPolicy), max_restarts: Opt(Type.Integer({ minimum: 0, maximum: 1000 })) },
  { additionalProperties: true },
);
export type MakePermanentBody = Static<typeof MakePermanentBody>;

/** `PUT /workspace/:id/lifecycle/ttl`. */
export const UpdateTtlBody = Type.Object({ ttl: Opt(Duration), ttl_action: Opt(TtlAction) }, { additionalProperties: true });
export type UpdateTtlBody = Static<typeof UpdateTtlBody>;

/** What a create may say about the workspace's lifecycle (beside its size and image). */
export const LifecycleCreateFields = {
  mode: Opt(LifecycleMode),
  ttl: Opt(Duration),
  ttl_action: Opt(TtlAction),
  remove_on_exit: Opt(Type.Boolean()),
  idle: Opt(Type.Union([IdlePolicyBody, Type.Null()])),
  restart_policy: Opt(RestartPolicy),
  max_restarts: Opt(Type.Integer({ minimum: 0, maximum: 1000 })),
};

/** One thing the lifecycle did to a workspace (or saw happen to it), newest last in `events`. */
export const LifecycleEvent = Type.Object(
  {
    at: Type.String(),
    type: Type.String({
      description: 'ttl_expired, idle_suspend, idle_stop, wake, agent_exited, restart, restart_failed, restart_limit, removed_on_exit',
    }),
    action: Opt(Type.String()),
    detail: Opt(Type.String()),
  },
  { additionalProperties: true },
);
export type LifecycleEvent = Static<typeof LifecycleEvent>;

/**
 * What the workspace's driver can do with its file system (Cove's, beside the SDK's fields): snapshot and restore,
 * archives and forks (`WorkspaceDriver.snapshots`), and at what cost a fork comes. Where `supported` is false
 * those routes answer 409 with `unavailable_reason`; a client (the web console) offers them only where true.
 */
export const FilesystemSnapshots = Type.Object(
  {
    supported: Type.Boolean({ description: 'snapshot, restore, archives and forks of the file system' }),
    constant_time_fork: Type.Boolean({ description: 'a fork costs the same whatever the workspace holds (false: its files are copied)' }),
    unavailable_reason: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: true },
);
export type FilesystemSnapshots = Static<typeof FilesystemSnapshots>;

/** Why a driver offers no file-system snapshots: the 409 of those routes and `unavailable_reason` alike. */
export function noFilesystemSnapshots(driverName: string): string {
  return `the ${driverName} driver has no snapshots, archives or forks`;
}

/** `GET /workspace/:id/lifecycle` and the answer of every lifecycle change (the SDK's `LifecycleStatus`). */
export const LifecycleResponse = Type.Object(
  {
    success: Type.Literal(true),
    workspace_id: Type.String(),
    mode: LifecycleMode,
    status: Type.String(),
    ttl: Opt(Type.Integer()),
    ttl_seconds: Opt(Type.Integer()),
    ttl_action: TtlAction,
    expires_at: Opt(Type.String()),
    remove_on_exit: Type.Boolean(),
    idle: Type.Union([Type.Object({ suspend_after: Type.Integer(), stop_after: Type.Integer() }), Type.Null()]),
    restart_policy: RestartPolicy,
    max_restarts: Type.Integer(),
    restart_info: Type.Object(
      { count: Type.Integer(), last_restart_at: Type.Union([Type.String(), Type.Null()]) },
      { additionalProperties: true },
    ),
    uptime: Type.Integer({ description: 'seconds since the workspace last started; 0 while it is not running' }),
    /** Memory snapshots (a suspend that keeps the processes' memory on disk): false, see the reason. */
    snapshot_supported: Type.Boolean(),
    snapshot_unavailable_reason: Type.Union([Type.String(), Type.Null()]),
    filesystem_snapshots: FilesystemSnapshots,
    suspend_mode: Type.String({ description: '`pause` (memory kept in RAM) or `stop` where the driver cannot pause' }),
    stopped_by: Type.Union([Type.String(), Type.Null()]),
    wake_on_traffic: Type.Boolean(),
    last_activity_at: Type.Union([Type.String(), Type.Null()]),
    events: Type.Array(LifecycleEvent),
    created_at: Type.String(),
  },
  { additionalProperties: true },
);

/**
 * `GET /activity` on the agent: what runs in the workspace now and how long nothing has. The control plane asks
 * when an idle deadline comes (never on a schedule of its own), so tracking use costs the agent a clock read per
 * request and nothing else.
 */
export const AgentActivity = Type.Object({
  /** Milliseconds since the last request or WebSocket ended (0 while anything below is open or running). */
  idle_ms: Type.Integer(),
  requests_in_flight: Type.Integer(),
  websockets: Type.Integer(),
  running_tasks: Type.Integer(),
  open_terminals: Type.Integer(),
});
export type AgentActivity = Static<typeof AgentActivity>;
