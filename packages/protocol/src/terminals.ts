// Wire schemas of the terminals domain (`/terminals`).
import { type Static, Type } from '@sinclair/typebox';
import { Open } from './common.js';

/** Limits shared by the server and its documentation. */
export const TERMINAL_LIMITS = {
  /** Live sessions at once; the next create is 429 `too_many_terminals`. */
  maxLive: 10,
  minSize: 1,
  /** Columns and rows are each at most this. */
  maxSize: 1000,
  defaultCols: 80,
  defaultRows: 24,
  /** Ring buffer of a session's output, in bytes. */
  defaultScrollback: 64 * 1024,
  minScrollback: 1024,
  maxScrollback: 16 * 1024 * 1024,
} as const;

const Dimension = (what: string) =>
  Type.Integer({ minimum: TERMINAL_LIMITS.minSize, maximum: TERMINAL_LIMITS.maxSize, description: `Terminal ${what}` });

const Argv = Type.Array(Type.String({ maxLength: 65536 }), {
  maxItems: 4096,
  description: 'Command and arguments, e.g. ["/bin/bash"]. Empty or absent: the user\'s shell',
});

/** `POST /terminals` */
export const TerminalCreateBody = Open({
  cmd: Type.Optional(Argv),
  command: Type.Optional(Argv),
  shell: Type.Optional(Type.String({ description: 'Extra: a shell to run (same as cmd: [shell])' })),
  cols: Type.Optional(Dimension('width in columns (default 80)')),
  rows: Type.Optional(Dimension('height in rows (default 24)')),
  scrollback_size: Type.Optional(
    Type.Integer({
      minimum: TERMINAL_LIMITS.minScrollback,
      maximum: TERMINAL_LIMITS.maxScrollback,
      description: 'Ring buffer size in bytes (default 65536)',
    }),
  ),
  cwd: Type.Optional(Type.String({ description: 'Extra: working directory (default: the agent workdir)' })),
  env: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra: environment variables to add' })),
  user: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 256,
      description: "Extra: the user to run as (name, uid, name:group, uid:gid); default: the image's user, else root",
    }),
  ),
});

/** One session as listed and as created. */
export const TerminalInfo = Type.Object({
  id: Type.String({ description: "Decimal string of the session's id byte (1-255)" }),
  command: Type.Array(Type.String()),
  cols: Type.Integer(),
  rows: Type.Integer(),
  alive: Type.Boolean(),
  exit_code: Type.Integer({ description: 'Exit code (0 while alive; 128+N after signal N)' }),
  created_at: Type.String({ format: 'date-time' }),
  scrollback_size: Type.Integer(),
  pid: Type.Optional(Type.Integer()),
});

export const TerminalCreateResponse = Type.Intersect([Type.Object({ success: Type.Literal(true) }), TerminalInfo]);

/** `GET /terminals` */
export const TerminalListResponse = Type.Object({
  success: Type.Literal(true),
  terminals: Type.Array(TerminalInfo),
});

/** `:id` of `/terminals/:id` */
export const TerminalIdParams = Type.Object({ id: Type.String({ description: 'Session id, e.g. "1"' }) });

/** `DELETE /terminals/:id` */
export const TerminalCloseResponse = Type.Object({ success: Type.Literal(true), terminal_id: Type.String() });

/** `GET /terminals/:id/scrollback` */
export const TerminalScrollbackQuery = Open({
  bytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Only the last N bytes of the buffer' })),
});

export const TerminalScrollbackResponse = Type.Object({
  success: Type.Literal(true),
  scrollback: Type.String({ description: 'Base64 of the buffered output' }),
  size: Type.Integer({ description: 'Bytes of output returned (before base64)' }),
  alive: Type.Boolean(),
  exit_code: Type.Integer(),
});

// Types of the answers, for clients (the SDK) and tests.
export type TerminalInfo = Static<typeof TerminalInfo>;
export type TerminalCreateResponse = Static<typeof TerminalCreateResponse>;
export type TerminalCloseResponse = Static<typeof TerminalCloseResponse>;
export type TerminalScrollbackResponse = Static<typeof TerminalScrollbackResponse>;
