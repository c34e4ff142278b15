import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type AgentEndpoint,
  AppError,
  type ResolvedNetwork,
  type WorkspaceDriver,
  type WorkspaceDriverEvent,
  type WorkspaceSpec,
  type WorkspaceStats,
} from '@cove/protocol';
import { AgentOutput } from './agent-output.js';
import { ProcessSnapshots } from './process-snapshots.js';
import { signalTree, stopTree } from './process-tree.js';
import { readProcessTreeStats } from './stats.js';

/** Where the driver reports agents started, exited and killed: a pino logger fits. */
export interface DriverLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ProcessDriverOptions {
  /** Directory holding one sub-directory per workspace. */
  root: string;
  /** argv prefix that runs the agent: `[node, AGENT_BIN]` (`@cove/agent/main`), or `[node, cove.js, 'agent']`. */
  agentCommand: readonly string[];
  log: DriverLog;
  /** How long an agent may take to say it is ready. */
  startTimeoutMs?: number;
  /** How long an agent may take to confirm a new token after SIGHUP. */
  reloadTimeoutMs?: number;
}

interface RunningAgent {
  child: ChildProcess;
  /** Its lifecycle messages. */
  output: AgentOutput;
  port: number;
  exited: Promise<void>;
  /** Frozen by `pause` (SIGSTOP on the agent and every process below it). */
  paused: boolean;
  /** Being stopped on request: its exit is no news for `watch`. */
  stopping?: boolean;
}

const LOOPBACK = '127.0.0.1';

/**
 * Runs each workspace's agent as a child process on 127.0.0.1 with a free
 * port, in `<root>/<id>/home`. No isolation: for development and tests. The
 * raw token is in `<root>/<id>/agent.token` (mode 0600), never on argv, and
 * rotating rewrites the file, sends SIGHUP and waits for the agent's
 * `token-reloaded` message (`@cove/protocol`'s agent lifecycle), as the
 * sandbox driver does.
 */
export class ProcessDriver implements WorkspaceDriver {
  readonly name = 'process';
  readonly canPause = true;
  readonly #opts: ProcessDriverOptions;
  readonly #agents = new Map<string, RunningAgent>();
  /** Per-workspace chain so that concurrent calls on one workspace run one after another. */
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #networks = new Map<string, ResolvedNetwork>();
  readonly #listeners = new Set<(event: WorkspaceDriverEvent) => void>();

  /** Snapshots, restore, archives and forks: copies of the workspace's directory (process-snapshots.ts). */
  readonly snapshots: ProcessSnapshots;

  constructor(options: ProcessDriverOptions) {
    this.#opts = options;
    this.snapshots = new ProcessSnapshots({
      dir: (id) => this.#dir(id),
      frozen: (id, fn) => this.#serial(id, () => this.#frozen(id, fn)),
      serial: (id, fn) => this.#serial(id, fn),
      agentRunning: (id) => this.agentRunning(id),
      specOf: async (id) => {
        const text = await readFile(path.join(this.#dir(id), 'spec.json'), 'utf8').catch(() => undefined);
        return text === undefined ? undefined : (JSON.parse(text) as Pick<WorkspaceSpec, 'image' | 'diskMb'>);
      },
    });
  }

  /** Runs `fn` with the workspace's processes stopped where they are (a paused or stopped one is left as it is). */
  async #frozen<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#agents.get(id);
    const pid = running && !running.paused ? running.child.pid : undefined;
    if (pid === undefined) return fn();
    await stopTree(pid);
    try {
      return await fn();
    } finally {
      await signalTree(pid, 'SIGCONT');
    }
  }

  #dir(id: string): string {
    return path.join(this.#opts.root, id);
  }

  async create(spec: WorkspaceSpec): Promise<void> {
    await mkdir(path.join(this.#dir(spec.id), 'home'), { recursive: true, mode: 0o700 });
    // What snapshots read back later: the image an archive names, the disk an archive must fit.
    await writeFile(path.join(this.#dir(spec.id), 'spec.json'), JSON.stringify({ image: spec.image, diskMb: spec.diskMb }), {
      mode: 0o600,
    });
  }

  async start(spec: WorkspaceSpec): Promise<{ ip: string }> {
    // A process workspace is its directory; "running" only means its agent may run.
    await this.create(spec);
    return { ip: LOOPBACK };
  }

  gatewayAddress(): string | null {
    return null;
  }

  stop(id: string): Promise<void> {
    return this.stopAgent(id);
  }

  /** A process workspace is its agent and what the agent runs: all of it is stopped where it is (SIGSTOP). */
  pause(id: string): Promise<void> {
    return this.#serial(id, async () => {
      const running = this.#agents.get(id);
      if (!running || running.paused || running.child.pid === undefined) return;
      running.paused = true;
      await signalTree(running.child.pid, 'SIGSTOP');
    });
  }

  resume(id: string): Promise<void> {
    return this.#serial(id, async () => {
      const running = this.#agents.get(id);
      if (!running?.paused || running.child.pid === undefined) return;
      running.paused = false;
      await signalTree(running.child.pid, 'SIGCONT');
    });
  }

  async destroy(id: string): Promise<void> {
    await this.stopAgent(id);
    this.#networks.delete(id);
    await rm(this.#dir(id), { recursive: true, force: true });
  }

  startAgent(id: string, token: string, preferredPort?: number | null): Promise<AgentEndpoint> {
    return this.#serial(id, async () => {
      const running = this.#agents.get(id);
      if (running) {
        await this.#installToken(id, running, token);
        return { ip: LOOPBACK, port: running.port };
      }
      await this.#killStale(id);
      await this.#writeToken(id, token);
      if (preferredPort) {
        try {
          return await this.#spawn(id, preferredPort);
        } catch {
          // The previous port is taken; any free port will do (the control plane re-issues JWTs).
        }
      }
      return this.#spawn(id, 0);
    });
  }

  /** Agents that exit unasked (crashed, killed from outside) are reported as they exit. */
  watch(listener: (event: WorkspaceDriverEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stopAgent(id: string): Promise<void> {
    return this.#serial(id, async () => {
      const running = this.#agents.get(id);
      if (!running) return;
      running.stopping = true;
      running.child.kill('SIGTERM');
      // A paused agent acts on SIGTERM only once it runs again.
      if (running.paused && running.child.pid !== undefined) await signalTree(running.child.pid, 'SIGCONT');
      const killed = await Promise.race([running.exited.then(() => true), delay(5000).then(() => false)]);
      if (!killed) {
        this.#opts.log.warn({ workspace: id }, 'agent ignored SIGTERM; killing it');
        running.child.kill('SIGKILL');
        await running.exited;
      }
      await rm(path.join(this.#dir(id), 'agent.pid'), { force: true });
    });
  }

  setAgentToken(id: string, token: string): Promise<void> {
    return this.#serial(id, async () => {
      const running = this.#agents.get(id);
      if (running) await this.#installToken(id, running, token);
      else await this.#writeToken(id, token);
    });
  }

  agentRunning(id: string): boolean {
    return this.#agents.has(id);
  }

  async applyNetwork(id: string, network: ResolvedNetwork): Promise<void> {
    // Nothing to enforce without a network namespace: the settings are recorded for `GET /network`.
    this.#networks.set(id, network);
  }

  /** What /proc shows of the workspace's agent and the processes below it, and its directory's disk use (stats.ts). */
  stats(id: string): Promise<WorkspaceStats> {
    return readProcessTreeStats(this.#agents.get(id)?.child.pid, this.#dir(id));
  }

  /** The agent's output: `agent.log` in the workspace's directory. */
  bootLogFile(id: string): string | undefined {
    return path.join(this.#dir(id), 'agent.log');
  }

  /** The running agent's control socket, in its state directory (`--state-dir`). */
  agentSocket(id: string): string | undefined {
    return this.#agents.has(id) ? path.join(this.#dir(id), 'state', 'agent.sock') : undefined;
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.#agents.keys()].map((id) => this.stopAgent(id)));
  }

  async #serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.then(
      () => {},
      () => {},
    );
    this.#locks.set(id, settled);
    try {
      return await next;
    } finally {
      if (this.#locks.get(id) === settled) this.#locks.delete(id);
    }
  }

  async #writeToken(id: string, token: string): Promise<void> {
    const file = path.join(this.#dir(id), 'agent.token');
    const tmp = `${file}.${process.pid}.tmp`;
    await mkdir(this.#dir(id), { recursive: true, mode: 0o700 });
    await writeFile(tmp, `${token}\n`, { mode: 0o600 });
    await rename(tmp, file);
  }

  /** Rewrites the token file, sends SIGHUP and waits for the agent's `token-reloaded` message. */
  async #installToken(id: string, running: RunningAgent, token: string): Promise<void> {
    // A stopped agent answers SIGHUP only once it runs again: refused at once rather than after the timeout.
    if (running.paused) throw new AppError('conflict', `workspace '${id}' is paused; resume it first`);
    await this.#writeToken(id, token);
    const answer = running.output.next(['token-reloaded', 'token-reload-failed'], this.#opts.reloadTimeoutMs ?? 10_000);
    running.child.kill('SIGHUP');
    const event = await answer.catch((err: Error) => {
      throw new AppError('service_unavailable', `the workspace agent did not take the new token: ${err.message}`);
    });
    if (event.type === 'token-reload-failed') {
      throw new AppError('service_unavailable', `the workspace agent could not read its new token: ${event.error}`);
    }
  }

  async #spawn(id: string, port: number): Promise<AgentEndpoint> {
    const dir = this.#dir(id);
    const home = path.join(dir, 'home');
    await mkdir(home, { recursive: true, mode: 0o700 });
    const logFile = path.join(dir, 'agent.log');
    // The boot log is kept small: each start begins a fresh one once it passes 1 MiB (the previous one kept as .1).
    if (((await stat(logFile).catch(() => undefined))?.size ?? 0) > 1024 * 1024) await rename(logFile, `${logFile}.1`);
    const log = await open(logFile, 'a', 0o600);
    const [command, ...prefix] = this.#opts.agentCommand;
    if (!command) throw new Error('empty agent command');
    const args = [
      ...prefix,
      '--listen',
      `${LOOPBACK}:${port}`,
      '--workdir',
      home,
      '--token-file',
      path.join(dir, 'agent.token'),
      // The agent's own directory (workloads, the command log, its control socket), beside its home.
      '--state-dir',
      path.join(dir, 'state'),
    ];
    let child: ChildProcess;
    try {
      // A minimal environment: commands run by the agent must not inherit the control plane's secrets.
      child = spawn(command, args, { cwd: home, env: agentEnv(home), stdio: ['ignore', 'pipe', log.fd], detached: true });
    } finally {
      await log.close();
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const output = new AgentOutput(child);
    const ready = await output.next(['ready'], this.#opts.startTimeoutMs ?? 20_000).catch(async (err: Error) => {
      child.kill('SIGKILL');
      await exited;
      throw new AppError('failed_to_start', `the workspace agent did not start: ${err.message}`);
    });
    const actualPort = ready.port;
    const running: RunningAgent = { child, output, port: actualPort, exited, paused: false };
    this.#agents.set(id, running);
    child.once('exit', (code, signal) => {
      if (this.#agents.get(id) === running) this.#agents.delete(id);
      this.#opts.log.info({ workspace: id, code, signal }, 'agent exited');
      if (!running.stopping) for (const listener of this.#listeners) listener({ type: 'agent-exited', workspaceId: id, code, signal });
    });
    if (child.pid) await writeFile(path.join(dir, 'agent.pid'), `${child.pid}\n`, { mode: 0o600 });
    this.#opts.log.info({ workspace: id, port: actualPort }, 'agent started');
    return { ip: LOOPBACK, port: actualPort };
  }

  /** Kills an agent left behind by a control plane that died without stopping it. */
  async #killStale(id: string): Promise<void> {
    const pidFile = path.join(this.#dir(id), 'agent.pid');
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    // Only a process whose command line names this workspace's token file is ours to kill.
    if (cmdline.includes(path.join(this.#dir(id), 'agent.token'))) {
      try {
        process.kill(pid, 'SIGKILL');
        this.#opts.log.warn({ workspace: id, pid }, 'killed a stale agent');
      } catch {
        // Already gone.
      }
    }
    await rm(pidFile, { force: true });
  }
}

function agentEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
  };
  if (process.env.COVE_LOG_LEVEL) env.COVE_LOG_LEVEL = process.env.COVE_LOG_LEVEL;
  return env;
}
