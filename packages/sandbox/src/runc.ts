import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { AppError } from '@cove/protocol';
import { run, runLogged } from './run-command.js';
import { type KnownRuntime, locateBinary, parseRuntime, RUNTIMES, type RuntimeProfile } from './runtimes.js';
import { span } from './trace.js';

export interface ContainerState {
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused';
  pid: number;
}

/**
 * The OCI runtime's command line (runc by default; any runtime with runc's CLI works: crun, runsc). Only long
 * flags are used, and each before the positional arguments: runsc parses with Go's flag package, which has
 * none of runc's short forms (`-r`) and stops at the first argument.
 */
export class OciRuntime {
  /** The binary (name on PATH or path). */
  readonly binary: string;
  /** Global flags from the runtime setting, before every command (`runsc --platform=kvm`). */
  readonly globalArgs: readonly string[];
  /** What the runtime supports, when it is one the driver knows by name (see runtimes.ts). */
  readonly profile: RuntimeProfile | undefined;

  constructor(
    /** The runtime setting: a binary, optionally followed by global flags. */
    command: string,
    /** The runtime's state directory (`--root`): Cove's containers only. */
    readonly root: string,
  ) {
    const { binary, args } = parseRuntime(command);
    // Resolved once, where the start-up check found it: the create call runs with a fixed PATH of its own.
    this.binary = locateBinary(binary) ?? binary;
    this.globalArgs = args;
    this.profile = RUNTIMES[binary.split('/').pop() as KnownRuntime];
  }

  #argv(...args: string[]): string[] {
    return [this.binary, ...this.globalArgs, '--root', this.root, ...args];
  }

  /**
   * Creates the container: namespaces, cgroups and mounts are set up and its
   * first process waits, not started, until `start`. Its stdout and stderr go
   * to `logFd` (the container keeps the descriptor, not a pipe to us). Resolves to the host pid of its first
   * process (from `--pid-file`: no `state` call needed to learn it).
   */
  async create(id: string, bundle: string, logFd: number, logFile?: string): Promise<number> {
    // The container inherits stdout and stderr: both are the log file, never a pipe to us (a pipe
    // would tie the container's output to this process). runc's own errors go to a JSON log.
    const runtimeLog = `${bundle}/runtime.log`;
    const pidFile = `${bundle}/pid`;
    const args = [...this.globalArgs, '--root', this.root, '--log', runtimeLog, '--log-format', 'json', 'create', '--bundle', bundle];
    args.push('--pid-file', pidFile, id);
    // Through the command helper (run-command.ts), which opens the log for it; else spawned here with `logFd`.
    const served = logFile === undefined ? undefined : await span('exec runc create', () => runLogged([this.binary, ...args], logFile));
    return new Promise((resolve, reject) => {
      const exited = (code: number | null) => {
        if (code === 0) {
          readFile(pidFile, 'utf8').then((text) => resolve(Number.parseInt(text, 10)), reject);
          return;
        }
        readFile(runtimeLog, 'utf8')
          .catch(() => '')
          .then((text) => {
            const last = text.trim().split('\n').pop() ?? '';
            let msg = last;
            try {
              msg = (JSON.parse(last) as { msg?: string }).msg ?? last;
            } catch {}
            // The workspace could not start (a bad image, a limit the kernel refuses): the client is told so.
            reject(
              new AppError(
                'failed_to_start',
                `the workspace container did not start: ${this.binary} create failed (${code}): ${msg.slice(0, 500)}`,
              ),
            );
          });
      };
      if (served !== undefined) {
        exited(served);
        return;
      }
      const child = spawn(this.binary, args, {
        stdio: ['ignore', logFd, logFd],
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      child.once('error', reject);
      child.once('exit', exited);
    });
  }

  async start(id: string): Promise<void> {
    await run(this.#argv('start', id));
  }

  async kill(id: string, signal: string, all = false): Promise<boolean> {
    const res = await run(this.#argv('kill', ...(all ? ['--all'] : []), id, signal), { allowFailure: true });
    return res.code === 0;
  }

  async delete(id: string, force = false): Promise<void> {
    await run(this.#argv('delete', ...(force ? ['--force'] : []), id), { allowFailure: true });
  }

  /** Freezes every process of the container (the cgroup freezer): `paused` until `resume`. Fails unless running or created. */
  async pause(id: string): Promise<void> {
    await run(this.#argv('pause', id));
  }

  /** Thaws a paused container: its processes run on where they stopped. Fails unless paused. */
  async resume(id: string): Promise<void> {
    await run(this.#argv('resume', id));
  }

  async update(id: string, resources: object): Promise<void> {
    await run(this.#argv('update', '--resources', '-', id), { input: JSON.stringify(resources) });
  }

  async state(id: string): Promise<ContainerState | undefined> {
    const res = await run(this.#argv('state', id), { allowFailure: true });
    if (res.code !== 0) return undefined;
    return JSON.parse(res.stdout) as ContainerState;
  }

  async list(): Promise<ContainerState[]> {
    const res = await run(this.#argv('list', '--format', 'json'), { allowFailure: true });
    if (res.code !== 0) return [];
    return (JSON.parse(res.stdout || 'null') as ContainerState[] | null) ?? [];
  }
}
