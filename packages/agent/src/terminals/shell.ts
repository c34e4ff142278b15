import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The user's login shell: `$SHELL`, else the shell of the user's /etc/passwd entry, else /bin/bash, else
 * /bin/sh — the first that is an executable file.
 */
export function defaultShell(env: NodeJS.ProcessEnv = process.env, passwdShell?: string): string {
  const candidates = [env.SHELL, passwdShell, '/bin/bash', '/bin/sh'];
  for (const candidate of candidates) if (candidate && path.isAbsolute(candidate) && isExecutable(candidate)) return candidate;
  return '/bin/sh';
}

export function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the file a command name runs, the way execvp does: a name with a
 * slash is taken as a path (relative to `cwd`), others are looked up in PATH.
 * Resolving before spawning lets an unknown binary fail the request instead
 * of producing a session that dies at once.
 */
export function resolveCommand(name: string, cwd: string, pathVar: string | undefined): string | undefined {
  if (name.includes('/')) {
    const file = path.resolve(cwd, name);
    return isExecutable(file) ? file : undefined;
  }
  for (const dir of (pathVar ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const file = path.join(path.resolve(cwd, dir), name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}
