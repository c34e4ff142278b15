import { statSync } from 'node:fs';
import { AppError, badParam, TERMINAL_LIMITS, type TerminalCreateBody } from '@cove/protocol';
import type { Static } from '@sinclair/typebox';
import type { ProcessDefaults } from '../identity/process-defaults.js';
import { resolveWirePath } from '../paths/resolve.js';
import { defaultShell, resolveCommand } from './shell.js';
import type { SpawnRequest } from './terminal-manager.js';

export type CreateBody = Static<typeof TerminalCreateBody>;

/**
 * Turns a `POST /terminals` body into what to spawn. The schema has already
 * checked types and ranges; this checks what a schema cannot (NUL bytes,
 * the working directory, whether the program exists).
 */
export function toSpawnRequest(body: CreateBody, workdir: string, processes: ProcessDefaults): SpawnRequest {
  const given = body.cmd ?? body.command ?? (body.shell !== undefined ? [body.shell] : undefined);
  const param = body.cmd ? 'cmd' : body.command ? 'command' : 'shell';
  given?.forEach((arg, i) => {
    if (arg.includes('\0')) throw badParam(`${param}[${i}]`, 'must not contain NUL bytes');
  });
  if (given?.[0] === '') throw badParam(`${param}[0]`, 'must not be empty');

  // The request's user wins over the workspace's (the image's User).
  const identity = processes.resolve(body.user);
  const env = buildEnv(identity.env, body.env);
  const cwd = body.cwd === undefined ? workdir : resolveWirePath(body.cwd, workdir, 'cwd');
  if (!isDirectory(cwd)) throw badParam('cwd', `not a directory: ${body.cwd}`);

  const command = given && given.length > 0 ? given : [defaultShell(env, identity.shell)];
  const [program, ...args] = command as [string, ...string[]];
  const file = resolveCommand(program, cwd, env.PATH);
  if (!file) throw new AppError('failed_to_start', `failed to create PTY session: command not found: ${program}`);
  return {
    command,
    file,
    args,
    cwd,
    env,
    runAs: identity.runAs,
    cols: body.cols ?? TERMINAL_LIMITS.defaultCols,
    rows: body.rows ?? TERMINAL_LIMITS.defaultRows,
    scrollbackSize: body.scrollback_size ?? TERMINAL_LIMITS.defaultScrollback,
  };
}

/** The workspace's environment, the caller's additions, and a terminal type every TUI understands. */
function buildEnv(base: Record<string, string>, extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = { ...base };
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
