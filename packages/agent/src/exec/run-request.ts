import { statSync } from 'node:fs';
import { AppError, badParam, EXEC_MODES, type ExecMode } from '@cove/protocol';
import { resolveWirePath } from '../paths/resolve.js';

/** A validated `POST /exec` body. */
export interface RunRequest {
  command: string[];
  mode: ExecMode;
  stream: boolean;
  /** Milliseconds; 0 = none. */
  timeoutMs: number;
  /** Seconds after exit; -1 = forever. Already defaulted (0 → the server default). */
  ttlSeconds: number;
  keepLogs: boolean;
  /** Absolute, or undefined for the agent's workdir. */
  cwd: string | undefined;
  /** Overrides merged over the agent's environment; null removes a variable. */
  env: Record<string, string | null> | undefined;
}

/** Longest timeout accepted: 7 days (timers cannot go past ~24.8 days anyway). */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** Longest TTL accepted: one year. */
export const MAX_TTL_SECONDS = 365 * 24 * 3600;
export const DEFAULT_TTL_SECONDS = 300;
const MAX_ARGS = 65_536;
/** Linux's ARG_MAX is 2 MiB for argv + environment together. */
const MAX_COMMAND_BYTES = 1024 * 1024;
const MAX_ENV_ENTRIES = 4096;

/**
 * Checks a run body by hand rather than through the schema validator, because
 * the validator coerces types (`"cmd": 5` would become `["5"]`); every
 * problem is a 400 that names the parameter.
 */
export function parseRunRequest(body: unknown, workdir: string, forceStream: boolean): RunRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('bad_request', 'request body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const command = parseCommand(b.cmd);
  const mode = optional(b.exec_mode, 'exec_mode', 'auto', (v): ExecMode => {
    if (typeof v !== 'string' || !(EXEC_MODES as readonly string[]).includes(v)) {
      throw badParam('exec_mode', `must be one of ${EXEC_MODES.join(', ')}`);
    }
    return v as ExecMode;
  });
  const stream = forceStream || optional(b.stream, 'stream', false, bool('stream'));
  const keepLogs = optional(b.keep_logs, 'keep_logs', false, bool('keep_logs'));

  const timeoutName = b.timeout_seconds !== undefined && b.timeout_seconds !== null ? 'timeout_seconds' : 'timeout';
  const timeoutSeconds = optional(b[timeoutName], timeoutName, 0, (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw badParam(timeoutName, 'must be a number of seconds');
    if (v < 0) throw badParam(timeoutName, 'must not be negative (0 means no timeout)');
    if (v > MAX_TIMEOUT_SECONDS) throw badParam(timeoutName, `must be at most ${MAX_TIMEOUT_SECONDS}`);
    return v;
  });

  const ttlSeconds = optional(b.ttl_seconds, 'ttl_seconds', 0, (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw badParam('ttl_seconds', 'must be an integer');
    if (v < -1) throw badParam('ttl_seconds', 'must be -1 (never expire), 0 (default) or positive');
    if (v > MAX_TTL_SECONDS) throw badParam('ttl_seconds', `must be at most ${MAX_TTL_SECONDS}`);
    return v;
  });

  const cwd = optional(b.cwd, 'cwd', undefined as string | undefined, (v) => {
    const dir = resolveWirePath(v, workdir, 'cwd');
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      throw new AppError('not_found', `invalid parameter 'cwd': no such directory: ${dir}`);
    }
    if (!isDir) throw badParam('cwd', `not a directory: ${dir}`);
    return dir;
  });

  const env = optional(b.env, 'env', undefined as Record<string, string | null> | undefined, parseEnv);

  return {
    command,
    mode,
    stream,
    timeoutMs: Math.round(timeoutSeconds * 1000),
    ttlSeconds: ttlSeconds === 0 ? DEFAULT_TTL_SECONDS : ttlSeconds,
    keepLogs,
    cwd,
    env,
  };
}

/** `cmd`: a non-empty array of strings, or one string (a one-element command). */
function parseCommand(cmd: unknown): string[] {
  if (cmd === undefined || cmd === null) throw new AppError('bad_request', "missing required parameter 'cmd'");
  const list = typeof cmd === 'string' ? [cmd] : cmd;
  if (!Array.isArray(list)) throw badParam('cmd', 'must be an array of strings or a string');
  if (list.length === 0) throw badParam('cmd', 'must not be empty');
  if (list.length > MAX_ARGS) throw badParam('cmd', `more than ${MAX_ARGS} arguments`);
  let bytes = 0;
  for (let i = 0; i < list.length; i++) {
    const arg: unknown = list[i];
    if (typeof arg !== 'string') throw badParam(`cmd[${i}]`, 'must be a string');
    if (arg.includes('\0')) throw badParam(`cmd[${i}]`, 'must not contain NUL bytes');
    bytes += arg.length + 1;
  }
  if (bytes > MAX_COMMAND_BYTES) throw badParam('cmd', `longer than ${MAX_COMMAND_BYTES} bytes`);
  if ((list[0] as string).trim() === '') throw badParam('cmd[0]', 'must not be empty');
  return list as string[];
}

function parseEnv(v: unknown): Record<string, string | null> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badParam('env', 'must be an object of strings');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_ENV_ENTRIES) throw badParam('env', `more than ${MAX_ENV_ENTRIES} variables`);
  const out: Record<string, string | null> = {};
  for (const [key, value] of entries) {
    if (key === '' || key.includes('=') || key.includes('\0')) throw badParam('env', `invalid variable name '${key.slice(0, 64)}'`);
    if (value === null) out[key] = null;
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      const text = String(value);
      if (text.includes('\0')) throw badParam(`env.${key}`, 'must not contain NUL bytes');
      out[key] = text;
    } else throw badParam(`env.${key}`, 'must be a string');
  }
  return out;
}

function bool(name: string) {
  return (v: unknown): boolean => {
    if (typeof v === 'boolean') return v;
    // Lenient like a query string: clients built on form tooling send text.
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw badParam(name, 'must be a boolean');
  };
}

/** An absent or null value takes the default; anything else must pass `parse`. */
function optional<T>(value: unknown, _name: string, fallback: T, parse: (v: unknown) => T): T {
  return value === undefined || value === null ? fallback : parse(value);
}
