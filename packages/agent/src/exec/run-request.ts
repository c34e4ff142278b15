import { statSync } from 'node:fs';
import { AppError, badParam, type ExecMode, type ExecRunBody } from '@cove/protocol';
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
  /** Overrides merged over the workspace's environment; null removes a variable. */
  env: Record<string, string | null> | undefined;
  /** The user to run as instead of the workspace's default. */
  user: string | undefined;
}

export const DEFAULT_TTL_SECONDS = 300;
const MAX_ARGS = 65_536;
/** Linux's ARG_MAX is 2 MiB for argv + environment together. */
const MAX_COMMAND_BYTES = 1024 * 1024;
const MAX_ENV_ENTRIES = 4096;

/**
 * Completes a run body the schema validator already checked for types and
 * ranges (strictly: JSON bodies are never coerced) with what a schema cannot
 * say; every problem is a 400 that names the parameter.
 */
export function parseRunRequest(body: ExecRunBody, workdir: string, forceStream: boolean): RunRequest {
  const command = parseCommand(body.cmd);
  const timeoutSeconds = body.timeout_seconds ?? body.timeout ?? 0;
  const ttlSeconds = body.ttl_seconds ?? 0;
  let cwd: string | undefined;
  if (body.cwd !== undefined) {
    cwd = resolveWirePath(body.cwd, workdir, 'cwd');
    let isDir = false;
    try {
      isDir = statSync(cwd).isDirectory();
    } catch {
      throw new AppError('not_found', `invalid parameter 'cwd': no such directory: ${cwd}`);
    }
    if (!isDir) throw badParam('cwd', `not a directory: ${cwd}`);
  }
  return {
    command,
    mode: body.exec_mode ?? 'auto',
    stream: forceStream || body.stream === true,
    timeoutMs: Math.round(timeoutSeconds * 1000),
    ttlSeconds: ttlSeconds === 0 ? DEFAULT_TTL_SECONDS : ttlSeconds,
    keepLogs: body.keep_logs === true,
    cwd,
    env: body.env === undefined ? undefined : checkEnv(body.env),
    user: body.user,
  };
}

/** `cmd`: a non-empty array of strings, or one string (a one-element command). */
function parseCommand(cmd: string | string[]): string[] {
  const list = typeof cmd === 'string' ? [cmd] : cmd;
  if (list.length > MAX_ARGS) throw badParam('cmd', `more than ${MAX_ARGS} arguments`);
  let bytes = 0;
  for (let i = 0; i < list.length; i++) {
    const arg = list[i] as string;
    if (arg.includes('\0')) throw badParam(`cmd[${i}]`, 'must not contain NUL bytes');
    bytes += arg.length + 1;
  }
  if (bytes > MAX_COMMAND_BYTES) throw badParam('cmd', `longer than ${MAX_COMMAND_BYTES} bytes`);
  if ((list[0] as string).trim() === '') throw badParam('cmd[0]', 'must not be empty');
  return list;
}

/** Variable names a process environment can hold; values were typed by the schema. */
function checkEnv(env: Record<string, string | null>): Record<string, string | null> {
  const entries = Object.entries(env);
  if (entries.length > MAX_ENV_ENTRIES) throw badParam('env', `more than ${MAX_ENV_ENTRIES} variables`);
  for (const [key, value] of entries) {
    if (key === '' || key.includes('=') || key.includes('\0')) throw badParam('env', `invalid variable name '${key.slice(0, 64)}'`);
    if (value?.includes('\0')) throw badParam(`env.${key}`, 'must not contain NUL bytes');
  }
  return env;
}
