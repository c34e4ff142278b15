import { type Static, Type } from '@sinclair/typebox';

/**
 * A workspace's logs on the wire (the official SDK's `logs` resource): the boot log (the agent's own output,
 * which the driver keeps on the workspace's disk and the control plane reads) and the command log (one record
 * per command run through exec, which the agent keeps), plus the workloads' log files, by name.
 */

const Opt = Type.Optional;

/** `boot`: the workspace's start-up and agent output; `cmd`: commands run through exec. */
export const LogSource = Type.Union([Type.Literal('boot'), Type.Literal('cmd')]);
export type LogSource = Static<typeof LogSource>;

export const LOG_LIMITS = {
  /** Lines an answer or a stream's replay holds at most; the default is 200. */
  maxTailLines: 10_000,
  defaultTailLines: 200,
  /** Bytes of a file an answer holds at most (its end). */
  maxFileBytes: 1024 * 1024,
  /** The command log rotates past this size (one previous generation kept). */
  cmdLogBytes: 1024 * 1024,
  /** Bytes of a command's stdout and of its stderr a record keeps (their ends). */
  cmdOutputBytes: 4096,
} as const;

/** Names of log files: a plain file name (no directory), as `GET …/logs/list` shows them. */
export const LOG_FILE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';

export const LogsQuery = Type.Object({
  source: Opt(LogSource),
  tail_lines: Opt(Type.Integer({ minimum: 1, maximum: LOG_LIMITS.maxTailLines })),
});

export const LogsClearQuery = Type.Object({ source: Opt(LogSource) });

export const LogStreamQuery = Type.Object({
  tail_lines: Opt(Type.Integer({ minimum: 0, maximum: LOG_LIMITS.maxTailLines })),
  follow: Opt(Type.Boolean({ description: 'keep the stream open for new lines (default: true for cmd, false for boot)' })),
});

export const LogFileParams = Type.Object({ name: Type.String({ maxLength: 256 }) });
export const LogFileQuery = Type.Object({ tail_lines: Opt(Type.Integer({ minimum: 1, maximum: LOG_LIMITS.maxTailLines })) });

/** One line of a log: the SDK's `LogStreamEvent`. Command records carry their fields besides `message`. */
export const LogLine = Type.Object(
  {
    message: Type.String(),
    timestamp: Opt(Type.String()),
    source: Opt(LogSource),
  },
  { additionalProperties: true },
);
export type LogLine = Static<typeof LogLine>;

/** One command run through exec, as the agent records it (a JSON line of the command log). */
export interface CommandRecord {
  task_id: string;
  command: string[];
  cwd: string;
  status: string;
  exit_code: number | null;
  signal?: string;
  timed_out?: boolean;
  error?: string;
  started_at: string | null;
  exited_at: string | null;
  duration_ms: number | null;
  /** The end of its stdout and stderr (`LOG_LIMITS.cmdOutputBytes` each); `*_truncated` when cut. */
  stdout: string;
  stderr: string;
  stdout_truncated?: boolean;
  stderr_truncated?: boolean;
}

export const LogsResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Opt(Type.String()),
  source: LogSource,
  logs: Type.Array(LogLine),
});

export const LogsClearResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Opt(Type.String()),
  cleared: Type.Array(LogSource),
});

export const LogFileInfo = Type.Object({
  name: Type.String(),
  size: Type.Integer(),
  modified: Opt(Type.String()),
});
export type LogFileInfo = Static<typeof LogFileInfo>;

export const LogFilesResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Opt(Type.String()),
  files: Type.Array(LogFileInfo),
});

export const LogFileResponse = Type.Object({
  success: Type.Literal(true),
  workspace_id: Opt(Type.String()),
  name: Type.String(),
  size: Type.Integer(),
  modified: Opt(Type.String()),
  /** The file's end: its last `tail_lines` lines, at most `LOG_LIMITS.maxFileBytes`. */
  content: Type.String(),
  truncated: Type.Boolean(),
});
