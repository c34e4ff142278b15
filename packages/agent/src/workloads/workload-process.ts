// Starting a workload's process. Its stdout and stderr go straight to its log file (opened by the agent,
// O_APPEND), not through pipes to the agent: a workload outlives an agent that dies (a pipe would end it with
// SIGPIPE), and the agent that comes next adopts it. So it is started here with child_process and the file as
// its stdio, not through the exec domain's piped spawners; the program lookup and the user switch (exec-as) are
// the exec domain's own (identity/run-as.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import type { ProcessIdentity } from '../identity/process-defaults.js';
import { execAsArgs, execAsPath, findProgram, programProblem } from '../identity/run-as.js';

export interface WorkloadLaunch {
  cmd: string[];
  cwd: string;
  identity: Pick<ProcessIdentity, 'env' | 'runAs'>;
  logFile: string;
}

/** Why a program cannot start, as an errno name (ENOENT, EACCES), or undefined when it can. */
export function launchProblem(cmd: readonly string[], cwd: string, env: Record<string, string>): string | undefined {
  const program = cmd[0] as string;
  if (!program.includes('/')) return findProgram(program, cwd, env.PATH) === undefined ? 'ENOENT' : undefined;
  return programProblem(program, cwd);
}

/**
 * Starts the workload's main process as the leader of a new session (its own process group), with stdin from
 * /dev/null and stdout and stderr appended to `logFile`. Resolves once it runs; rejects with the errno name.
 * `onExit` is called when it exits (not when it could not start).
 */
export async function launchWorkload(
  launch: WorkloadLaunch,
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void,
): Promise<ChildProcess> {
  const { cmd, cwd, identity } = launch;
  const env = identity.env;
  let file = cmd[0] as string;
  const argv0 = file;
  if (!file.includes('/')) {
    const found = findProgram(file, cwd, env.PATH);
    if (found === undefined) throw new Error('ENOENT');
    file = found;
  }
  const problem = programProblem(file, cwd);
  if (problem !== undefined) throw new Error(problem);
  await mkdir(path.dirname(launch.logFile), { recursive: true, mode: 0o700 });
  const log = await open(launch.logFile, 'a', 0o640);
  try {
    const args = cmd.slice(1);
    const execAs = identity.runAs ? execAsPath() : null;
    const [program, argv, who] =
      identity.runAs && execAs
        ? [...execAsArgs(execAs, file, argv0, args, { runAs: identity.runAs }), {}]
        : [file, args, identity.runAs ? { uid: identity.runAs.uid, gid: identity.runAs.gid } : {}];
    const child = spawn(program, argv, {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      ...(program === file ? { argv0 } : {}),
      ...who,
    });
    // Attached before anything else can wait: an exit during the awaits below is not missed.
    child.once('exit', onExit);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code ?? err.message)));
    });
    child.on('error', () => {});
    return child;
  } finally {
    await log.close();
  }
}

/** Signals every process of the workload's group (its leader's pid); false when none is left. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}
