import { statSync } from 'node:fs';
import { AppError, badParam, TERMINAL_LIMITS, type TerminalCreateBody } from '@cove/protocol';
import type { Static } from '@sinclair/typebox';
import { resolveWirePath } from '../paths/resolve.js';
import { defaultShell, resolveCommand } from './shell.js';
import type { SpawnRequest } from './terminal-manager.js';

export type CreateBody = Static<typeof TerminalCreateBody>;

/**
 * Turns a `POST /terminals` body into what to spawn. The schema has already
 * checked types and ranges; this checks what a schema cannot (NUL bytes,
 * the working directory, whether the program exists).
 */
export function toSpawnRequest(body: CreateBody, workdir: string): SpawnRequest {
  const given = body.cmd ?? body.command ?? (body.shell !== undefined ? [body.shell] : undefined);
  const param = body.cmd ? 'cmd' : body.command ? 'command' : 'shell';
  given?.forEach((arg, i) => {
    if (arg.includes('\0')) throw badParam(`${param}[${i}]`, 'must not contain NUL bytes');
  });
  if (given?.[0] === '') throw badParam(`${param}[0]`, 'must not be empty');

  const env = buildEnv(body.env);
  const cwd = body.cwd === undefined ? workdir : resolveWirePath(body.cwd, workdir, 'cwd');
  if (!isDirectory(cwd)) throw badParam('cwd', `not a directory: ${body.cwd}`);

  const command = given && given.length > 0 ? given : [defaultShell(env)];
  const [program, ...args] = command as [string, ...string[]];
  const file = resolveCommand(program, cwd, env.PATH);
  if (!file) throw new AppError('failed_to_start', `failed to create PTY session: command not found: ${program}`);
  return {
    command,
    file,
    args,
    cwd,
    env,
    cols: body.cols ?? TERMINAL_LIMITS.defaultCols,
    rows: body.rows ?? TERMINAL_LIMITS.defaultRows,
    scrollbackSize: body.scrollback_size ?? TERMINAL_LIMITS.defaultScrollback,
  };
}

/** The agent's environment, the caller's additions, and a terminal type every TUI understands. */
function buildEnv(extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // A UTF-8 locale unless the workspace chose one: C would mangle non-ASCII input in shells.
  if (!env.LANG && !env.LC_ALL) env.LANG = 'C.UTF-8';
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (k === '' || k.includes('=') || k.includes('\0')) throw badParam(`env.${k}`, 'is not a valid variable name');
    if (v.includes('\0')) throw badParam(`env.${k}`, 'must not contain NUL bytes');
    env[k] = v;
  }
  env.TERM = 'xterm-256color';
  return env;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
