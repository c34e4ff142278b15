import { type Static, Type } from '@sinclair/typebox';

/**
 * Managed workloads on the wire (the official SDK's `workloads` resource): background processes the agent
 * supervises inside the workspace, with a restart policy, a log file and what the workspace does when one
 * ends. The agent serves them at `/workloads…`; the control plane forwards `/workspace/:id/workloads…` there.
 */

const Opt = Type.Optional;

/** Bounds of a definition: what one workspace may hold and what one workload may carry. */
export const WORKLOAD_LIMITS = {
  /** Workloads per workspace. */
  maxWorkloads: 64,
  /** Arguments of `cmd`, and bytes of each. */
  maxArgs: 1024,
  maxArgBytes: 128 * 1024,
  /** `env` entries, and bytes of each. */
  maxEnv: 1024,
  maxEnvBytes: 128 * 1024,
  /** Label and annotation entries, and bytes of a key and of a value. */
  maxLabels: 64,
  maxLabelKey: 128,
  maxLabelValue: 1024,
  /** The largest `max_log_size_mb`; the default is 10. */
  maxLogSizeMb: 1024,
  defaultLogSizeMb: 10,
  /** The longest `restart_delay`, in seconds; the default is 1. */
  maxRestartDelay: 3600,
  defaultRestartDelay: 1,
  /** The backoff's ceiling: a delay never grows past this many seconds (or `restart_delay`, if larger). */
  maxBackoffSeconds: 300,
} as const;

/** A workload's id as callers may choose it (generated ones are `wl_` and hex). */
export const WORKLOAD_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

export const WorkloadRestartPolicy = Type.Union([Type.Literal('never'), Type.Literal('on-failure'), Type.Literal('always')]);
export type WorkloadRestartPolicy = Static<typeof WorkloadRestartPolicy>;

/** What the workspace does once the workload has ended for good (no restart to come): nothing (`''`) by default. */
export const WorkloadVmOnExit = Type.Union([Type.Literal(''), Type.Literal('stop'), Type.Literal('pause'), Type.Literal('exit')]);
export type WorkloadVmOnExit = Static<typeof WorkloadVmOnExit>;

/**
 * Where a workload is: `created` (never started, or `enabled: false`), `running`, `restarting` (waiting out its
 * delay), `stopped` (stopped on request), `exited` (ended, no restart due: its policy said so or it exited 0
 * under `on-failure`), `failed` (could not start, or gave up after `max_restarts`).
 */
export const WorkloadStatus = Type.Union([
  Type.Literal('created'),
  Type.Literal('running'),
  Type.Literal('restarting'),
  Type.Literal('stopped'),
  Type.Literal('exited'),
  Type.Literal('failed'),
]);
export type WorkloadStatus = Static<typeof WorkloadStatus>;

const StringMap = Type.Record(
  Type.String({ maxLength: WORKLOAD_LIMITS.maxLabelKey }),
  Type.String({ maxLength: WORKLOAD_LIMITS.maxLabelValue }),
);

/** The fields a definition may set (create), every one optional but the command. */
const definitionFields = {
  name: Opt(Type.String({ minLength: 1, maxLength: 128, description: 'unique in the workspace; default: the id' })),
  env: Opt(
    Type.Union(
      [
        Type.Array(Type.String({ maxLength: WORKLOAD_LIMITS.maxEnvBytes }), { maxItems: WORKLOAD_LIMITS.maxEnv }),
        Type.Record(Type.String(), Type.String({ maxLength: WORKLOAD_LIMITS.maxEnvBytes })),
      ],
      { description: '`KEY=value` entries (or an object), over the workspace’s environment' },
    ),
  ),
  working_dir: Opt(Type.String({ minLength: 1, maxLength: 4096, description: 'default: the workspace’s working directory' })),
  user: Opt(Type.String({ minLength: 1, maxLength: 256, description: 'name, uid, name:group or uid:gid; default: the image’s user' })),
  restart_policy: Opt(WorkloadRestartPolicy),
  max_restarts: Opt(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'restarts in a row before giving up; 0: no limit' })),
  restart_delay: Opt(
    Type.Number({ minimum: 0, maximum: WORKLOAD_LIMITS.maxRestartDelay, description: 'seconds before a restart (default 1)' }),
  ),
  restart_backoff: Opt(Type.Boolean({ description: 'double the delay with each restart in a row (default true)' })),
  log_path: Opt(Type.String({ minLength: 1, maxLength: 4096, description: 'absolute path of its log file; default: kept by the agent' })),
  max_log_size_mb: Opt(Type.Number({ exclusiveMinimum: 0, maximum: WORKLOAD_LIMITS.maxLogSizeMb })),
  vm_on_exit: Opt(WorkloadVmOnExit),
  labels: Opt(StringMap),
  annotations: Opt(StringMap),
  enabled: Opt(Type.Boolean({ description: 'start it now and whenever the workspace starts (default true)' })),
  target: Opt(Type.Literal('default', { description: 'the runtime to run in: only `default`' })),
};

const Command = Type.Array(Type.String({ maxLength: WORKLOAD_LIMITS.maxArgBytes }), {
  minItems: 1,
  maxItems: WORKLOAD_LIMITS.maxArgs,
});

/** `POST /workloads`. `command` (a string run by /bin/sh, or an argv) is accepted for `cmd`. */
export const WorkloadCreateBody = Type.Object(
  {
    id: Opt(Type.String({ pattern: WORKLOAD_ID_PATTERN })),
    cmd: Opt(Command),
    command: Opt(Type.Union([Type.String({ minLength: 1, maxLength: WORKLOAD_LIMITS.maxArgBytes }), Command])),
    ...definitionFields,
  },
  { additionalProperties: false },
);
export type WorkloadCreateBody = Static<typeof WorkloadCreateBody>;

/** `PUT|PATCH /workloads/:id`: the fields given change; a change to how it runs restarts a running workload. */
export const WorkloadUpdateBody = Type.Object(
  {
    cmd: Opt(Command),
    command: Opt(Type.Union([Type.String({ minLength: 1, maxLength: WORKLOAD_LIMITS.maxArgBytes }), Command])),
    ...definitionFields,
  },
  { additionalProperties: false },
);
export type WorkloadUpdateBody = Static<typeof WorkloadUpdateBody>;

export const WorkloadListQuery = Type.Object({
  states: Opt(Type.String({ maxLength: 256, description: 'comma-separated statuses to keep' })),
  name: Opt(Type.String({ maxLength: 128 })),
});
export type WorkloadListQuery = Static<typeof WorkloadListQuery>;

export const WorkloadParams = Type.Object({ wid: Type.String({ maxLength: 128 }) });

export const WorkloadLogsQuery = Type.Object({
  tail_lines: Opt(Type.Integer({ minimum: 1, maximum: 100_000, description: 'last lines (default 200)' })),
});

export const WorkloadStatsStreamQuery = Type.Object({
  interval_ms: Opt(Type.Integer({ minimum: 250, maximum: 60_000, description: 'between samples (default 1000)' })),
});

/** A workload as every answer shows it: its definition and where it is. */
export const WorkloadInfo = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    target: Type.Literal('default'),
    cmd: Type.Array(Type.String()),
    env: Type.Array(Type.String()),
    working_dir: Type.Union([Type.String(), Type.Null()]),
    user: Type.Union([Type.String(), Type.Null()]),
    restart_policy: WorkloadRestartPolicy,
    max_restarts: Type.Integer(),
    restart_delay: Type.Number(),
    restart_backoff: Type.Boolean(),
    log_path: Type.String(),
    max_log_size_mb: Type.Number(),
    vm_on_exit: WorkloadVmOnExit,
    labels: StringMap,
    annotations: StringMap,
    enabled: Type.Boolean(),
    status: WorkloadStatus,
    pid: Type.Union([Type.Integer(), Type.Null()]),
    exit_code: Type.Union([Type.Integer(), Type.Null()]),
    signal: Type.Union([Type.String(), Type.Null()]),
    /** Restarts in a row (reset once it has run a while, or by a start). */
    restart_count: Type.Integer(),
    /** When the next restart is due, while `restarting`. */
    next_restart_at: Type.Union([Type.String(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    started_at: Type.Union([Type.String(), Type.Null()]),
    exited_at: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { additionalProperties: false },
);
export type WorkloadInfo = Static<typeof WorkloadInfo>;

export const WorkloadResponse = Type.Object({ success: Type.Literal(true), workload: WorkloadInfo });
export const WorkloadListResponse = Type.Object({
  success: Type.Literal(true),
  workloads: Type.Array(WorkloadInfo),
  total: Type.Integer(),
});
export const WorkloadDeleteResponse = Type.Object({ success: Type.Literal(true), workload_id: Type.String() });
export const WorkloadDeleteAllResponse = Type.Object({ success: Type.Literal(true), deleted: Type.Integer() });

/** `GET /workloads/:id/status`: the moving parts of `WorkloadInfo`. */
export const WorkloadStatusResponse = Type.Object({
  success: Type.Literal(true),
  workload_id: Type.String(),
  status: WorkloadStatus,
  enabled: Type.Boolean(),
  pid: Type.Union([Type.Integer(), Type.Null()]),
  exit_code: Type.Union([Type.Integer(), Type.Null()]),
  signal: Type.Union([Type.String(), Type.Null()]),
  restart_count: Type.Integer(),
  next_restart_at: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  started_at: Type.Union([Type.String(), Type.Null()]),
  exited_at: Type.Union([Type.String(), Type.Null()]),
  uptime_seconds: Type.Union([Type.Number(), Type.Null()]),
});

/** One line of a workload's log (its stdout and stderr, in one file, in the order written). */
export const WorkloadLogEntry = Type.Object({
  data: Type.String(),
  /** When the agent read it (streams only: the file keeps no times). */
  timestamp: Opt(Type.String()),
});
export type WorkloadLogEntry = Static<typeof WorkloadLogEntry>;

export const WorkloadLogsResponse = Type.Object({
  success: Type.Literal(true),
  workload_id: Type.String(),
  log_path: Type.String(),
  /** Bytes in the current file (the rotated one, `<log_path>.1`, not counted). */
  size: Type.Integer(),
  logs: Type.Array(WorkloadLogEntry),
});

/** A workload's process tree now, from /proc: the SDK's `WorkloadStatsEvent`. */
export const WorkloadStats = Type.Object({
  workload_id: Type.String(),
  name: Type.String(),
  status: WorkloadStatus,
  pid: Type.Union([Type.Integer(), Type.Null()]),
  /** Processes in its tree (its session: the main process and what it started). */
  pids: Type.Integer(),
  /** CPU use since the previous sample of the same reader, in percent of one CPU (null on the first). */
  cpu_usage: Type.Union([Type.Number(), Type.Null()]),
  /** CPU time of the live processes of its tree, in seconds. */
  cpu_seconds: Type.Number(),
  /** Resident memory of its tree, in bytes. */
  memory_usage: Type.Integer(),
  memory_rss_bytes: Type.Integer(),
  timestamp: Type.String(),
});
export type WorkloadStats = Static<typeof WorkloadStats>;

export const WorkloadStatsResponse = Type.Object({ success: Type.Literal(true), ...WorkloadStats.properties });

/**
 * What the agent tells whoever follows `GET /workloads/events`: a workload with a `vm_on_exit` ended for good,
 * and the workspace should do what it says. Sent again to each new follower until the agent restarts.
 */
export const WorkloadVmExitEvent = Type.Object({
  type: Type.Literal('vm_on_exit'),
  workload_id: Type.String(),
  action: WorkloadVmOnExit,
  exit_code: Type.Union([Type.Integer(), Type.Null()]),
  at: Type.String(),
});
export type WorkloadVmExitEvent = Static<typeof WorkloadVmExitEvent>;
