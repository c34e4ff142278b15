// Wire schemas of the exec domain (`/exec`, `/exec/stream`, `/exec/:id/...`).
import { type Static, Type } from '@sinclair/typebox';

/** Task states, in the order a task goes through them. */
export const TASK_STATUSES = ['pending', 'running', 'exited', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const EXEC_MODES = ['auto', 'shell', 'direct'] as const;
export type ExecMode = (typeof EXEC_MODES)[number];

/** Longest timeout accepted: 7 days (timers cannot go past ~24.8 days anyway). */
export const MAX_EXEC_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** Longest TTL accepted: one year. */
export const MAX_EXEC_TTL_SECONDS = 365 * 24 * 3600;

/**
 * `POST /exec` and `POST /exec/stream`, validated strictly (no coercion):
 * `cmd: 5` is refused instead of becoming `["5"]`. The agent then checks
 * what a schema cannot say (NUL bytes, the size of the command line, that
 * `cwd` is a directory, variable names).
 */
export const ExecRunBody = Type.Object(
  {
    cmd: Type.Union([Type.Array(Type.String(), { minItems: 1 }), Type.String({ minLength: 1 })], {
      description: 'The command: an argv array, or one string (split in direct mode, a shell line in shell mode)',
    }),
    stream: Type.Optional(Type.Boolean({ description: 'Answer with an SSE stream instead of waiting', default: false })),
    exec_mode: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('shell'), Type.Literal('direct')], { default: 'auto' })),
    timeout_seconds: Type.Optional(
      Type.Number({ minimum: 0, maximum: MAX_EXEC_TIMEOUT_SECONDS, description: 'Kill the process group after N seconds; 0 = no timeout' }),
    ),
    timeout: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_EXEC_TIMEOUT_SECONDS, description: 'Alias of timeout_seconds' })),
    ttl_seconds: Type.Optional(
      Type.Integer({
        minimum: -1,
        maximum: MAX_EXEC_TTL_SECONDS,
        description: 'Keep the task N seconds after exit; 0 = 300, -1 = forever',
      }),
    ),
    keep_logs: Type.Optional(Type.Boolean({ description: 'Retain stdout/stderr after exit for the TTL', default: false })),
    cwd: Type.Optional(Type.String({ description: "Working directory (default: the agent's workdir)" })),
    env: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]), {
        description: "Variables merged over the workspace's environment; null removes one",
      }),
    ),
    user: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: "Extra: the user to run as (name, uid, name:group, uid:gid); default: the image's user, else root",
      }),
    ),
  },
  { additionalProperties: true },
);
export type ExecRunBody = Static<typeof ExecRunBody>;

/** The task object of `POST /exec`, `GET /exec/:id` and list items. */
export const ExecTaskObject = Type.Object(
  {
    id: Type.String(),
    command: Type.Array(Type.String()),
    status: Type.Union(TASK_STATUSES.map((s) => Type.Literal(s))),
    guest_pid: Type.Optional(Type.Integer()),
    exit_code: Type.Optional(Type.Integer({ description: '0-255, or 128+signo when killed by a signal' })),
    signal: Type.Optional(Type.String({ description: 'Name of the signal that ended the process' })),
    timed_out: Type.Optional(Type.Boolean()),
    error: Type.Optional(Type.String()),
    stdout: Type.Optional(Type.String()),
    stderr: Type.Optional(Type.String()),
    stdout_truncated: Type.Optional(Type.Boolean()),
    stderr_truncated: Type.Optional(Type.Boolean()),
    exec_mode: Type.Optional(Type.String()),
    cwd: Type.Optional(Type.String()),
    keep_logs: Type.Optional(Type.Boolean()),
    created_at: Type.String(),
    started_at: Type.Optional(Type.String()),
    exited_at: Type.Optional(Type.String()),
    ttl_seconds: Type.Integer(),
  },
  { additionalProperties: true },
);

/** A task as it goes on the wire. */
export type ExecTaskJson = Static<typeof ExecTaskObject>;

export const ExecListResponse = Type.Object({ success: Type.Literal(true), tasks: Type.Array(ExecTaskObject) });
export const ExecDeleteAllResponse = Type.Object({ success: Type.Literal(true), deleted: Type.Integer() });
export const ExecInputResponse = Type.Object({
  success: Type.Literal(true),
  bytes_written: Type.Integer(),
  stdin_closed: Type.Optional(Type.Boolean()),
});
export const ExecSignalResponse = Type.Object({ success: Type.Literal(true), signal: Type.String() });

export const ExecTaskParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const ExecStreamQuery = Type.Object(
  { task_id: Type.Optional(Type.String({ description: 'The task to attach to' })) },
  { additionalProperties: true },
);

export const ExecInputQuery = Type.Object(
  { eof: Type.Boolean({ default: false, description: "Close the task's stdin after writing the body" }) },
  { additionalProperties: true },
);

export const ExecSignalBody = Type.Object(
  {
    signal: Type.Union([Type.String(), Type.Integer()], {
      description: 'Signal name (SIGINT, INT) or number; sent to the whole process group',
    }),
  },
  { additionalProperties: true },
);
export type ExecSignalBody = Static<typeof ExecSignalBody>;

/** SSE payloads. `stdout`/`stderr` carry base64; `output` (finished task) carries raw text. */
export const ExecSseTaskId = Type.Object({ task_id: Type.String() });
export const ExecSseData = Type.Object({ data: Type.String({ description: 'base64' }) });
export const ExecSseOutput = Type.Object({ stdout: Type.String(), stderr: Type.String() });
export const ExecSseExit = Type.Object(
  {
    exit_code: Type.Integer(),
    pid: Type.Integer(),
    status: Type.Optional(Type.String()),
    signal: Type.Optional(Type.String()),
    timed_out: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);
