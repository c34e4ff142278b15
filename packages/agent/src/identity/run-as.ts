// Starting a process as another user: through exec-as (native/exec-as.c) when it was built, which sets the
// supplementary groups, the group and the user, then executes the program.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunAs } from './users.js';

/** Where `npm ci` builds it (packages/agent/native/build), from src/ and dist/ alike. */
const BUILT = fileURLToPath(new URL('../../native/build/exec-as', import.meta.url));

let located: string | null | undefined;

/** exec-as (`COVE_EXEC_AS`, else the one `npm ci` built), or null when there is none. Looked up once. */
export function execAsPath(): string | null {
  if (located === undefined) {
    const candidate = process.env.COVE_EXEC_AS || BUILT;
    located = process.platform === 'linux' && isExecutableFile(candidate) ? candidate : null;
  }
  return located;
}

export interface ExecAsOptions {
  runAs?: RunAs | undefined;
  /** Close every descriptor above stdio first. */
  closeFds?: boolean;
  /** Give the terminal on stdin to the user. */
  tty?: boolean;
}

/** The argv that runs `file` (named `argv0`) with `args` through exec-as at `execAs`. */
export function execAsArgs(
  execAs: string,
  file: string,
  argv0: string,
  args: readonly string[],
  options: ExecAsOptions,
): [string, string[]] {
  const flags: string[] = [];
  if (options.closeFds) flags.push('--close-fds');
  if (options.tty) flags.push('--tty');
  const r = options.runAs;
  if (r) flags.push('--groups', r.groups.join(','), '--gid', String(r.gid), '--uid', String(r.uid));
  return [execAs, [...flags, '--', file, argv0, ...args]];
}

/**
 * Finds the file a command name runs, as execvp would with the process's own PATH (not the agent's): a name
 * with a slash is taken as given (relative to the working directory when spawned). Undefined: not found.
 */
export function findProgram(name: string, cwd: string, pathVar: string | undefined): string | undefined {
  if (name.includes('/')) return name;
  for (const dir of (pathVar ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const file = path.join(path.resolve(cwd, dir), name);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

/** Why `file` (resolved against `cwd`) cannot be executed, as an errno name; undefined when it can. */
export function programProblem(file: string, cwd: string): string | undefined {
  const full = path.resolve(cwd, file);
  try {
    const st = statSync(full);
    if (st.isDirectory()) return 'EACCES';
    accessSync(full, constants.X_OK);
    return st.isFile() && (st.mode & 0o111) !== 0 ? undefined : 'EACCES';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'ENOENT';
  }
}

function isExecutableFile(file: string): boolean {
  try {
    // A missing file is the common case of a PATH search: no exception made for it.
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
