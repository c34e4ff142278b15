import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { RunAs } from '../identity/users.js';

/** A started process as the task sees it, whoever started it. */
export interface SpawnedProcess {
  pid: number;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Called once, when the process has exited (not waiting for its pipes). */
  onExit(callback: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  /**
   * Closes our end of stdin for good (a finished task), without making a stream of it when it was never
   * used: the spawn helper hands stdin over as a bare handle, made a stream on first use.
   */
  dropStdin(): void;
}

export interface SpawnRequest {
  file: string;
  /** The program's name as it sees it (argv[0]); default `file`. */
  argv0?: string | undefined;
  args: string[];
  cwd: string;
  /** The whole environment, or undefined for the agent's own. */
  env: NodeJS.ProcessEnv | undefined;
  /**
   * Who to run as (only the node spawner switches itself, keeping no supplementary groups but the primary one:
   * `launch` sends switches through exec-as when it exists).
   */
  runAs?: RunAs | undefined;
}

/** A process could not be started; `code` is the errno name (ENOENT, EACCES, ...). */
export class SpawnError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(`failed to start process: ${code}`);
    this.code = code;
  }
}

/** Starts a process in a new session (its own process group) with piped stdio. */
export interface Spawner {
  readonly kind: string;
  spawn(request: SpawnRequest): SpawnedProcess | Promise<SpawnedProcess>;
  close(): void;
}

/**
 * Makes a task its workspace's first out-of-memory victim rather than the agent (the spawn helper does it before
 * the task runs; here, just after, best effort). Raising needs no privilege.
 */
export function raiseOomScore(pid: number): void {
  if (process.platform !== 'linux') return;
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, '1000');
  } catch {}
}

/** Spawning straight from the agent with child_process (the fallback). */
export const nodeSpawner: Spawner = {
  kind: 'node',
  spawn({ file, argv0, args, cwd, env, runAs }) {
    let child: ReturnType<typeof spawn>;
    try {
      const who = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};
      child = spawn(file, args, { cwd, env, detached: true, stdio: 'pipe', ...(argv0 !== undefined ? { argv0 } : {}), ...who });
    } catch (err) {
      throw new SpawnError((err as NodeJS.ErrnoException).code ?? 'EINVAL');
    }
    const { pid, stdin, stdout, stderr } = child;
    if (pid === undefined || !stdin || !stdout || !stderr) {
      // libuv reports exec failures (ENOENT, EACCES, E2BIG) on the next tick.
      return new Promise((_resolve, reject) => {
        child.once('error', (err: NodeJS.ErrnoException) => reject(new SpawnError(err.code ?? 'EINVAL')));
      });
    }
    child.on('error', () => {});
    // A task that exits without reading its stdin makes our writes fail with EPIPE: not an agent error.
    stdin.on('error', () => {});
    raiseOomScore(pid);
    return {
      pid,
      stdin,
      stdout,
      stderr,
      onExit: (callback) => {
        child.once('exit', callback);
      },
      dropStdin: () => {
        if (!stdin.destroyed) stdin.destroy();
      },
    };
  },
  close() {},
};
