// The agent in each workspace (the container's first process, under tini): starting it and waiting until it
// is ready, its token file, rotating the token by SIGHUP, stopping it while the workspace stays up (paused or not).
import { existsSync } from 'node:fs';
import { chown, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type AgentEndpoint, AppError } from '@cove/protocol';
import type { Logger } from 'pino';
import type { Containers } from './containers.js';
import { logOffset, waitForAgentEvent, waitForLogLine } from './log-watch.js';
import { processAlive } from './process-alive.js';
import type { OciRuntime } from './runc.js';
import type { Slots, WorkspaceState } from './slots.js';
import { recordSpan } from './trace.js';

/** What an armed agent prints once node is up and the agent loaded (packages/agent/bin/cove-agent.js). */
const ARMED_LINE = '{"type":"armed"}';

export interface AgentsDeps {
  runtime: OciRuntime;
  slots: Slots;
  containers: Containers;
  agentPort: number;
  log: Logger;
  /** How long an agent may take to listen. */
  startTimeoutMs: number;
}

export class Agents {
  readonly #deps: AgentsDeps;
  /** Workspaces whose agent runs: the container's first process id. */
  readonly #agentPids = new Map<string, number>();
  /** Slots whose container holds an armed agent (started, waiting for SIGUSR2: see `launch`). */
  readonly #armed = new Set<string>();

  constructor(deps: AgentsDeps) {
    this.#deps = deps;
  }

  /** How many workspaces' agents this driver knows to run. */
  get count(): number {
    return this.#agentPids.size;
  }

  /** Records a running agent (found running at open: it has the token the control plane re-sends with `start`). */
  recovered(id: string, pid: number): void {
    this.#agentPids.set(id, pid);
  }

  /** Forgets the workspace's agent (its container is being stopped or removed). */
  forget(id: string): void {
    this.#agentPids.delete(id);
  }

  /**
   * Whether the agent serves the workspace's token (an adopted pool agent counts once `start` gave it one).
   * A paused workspace's agent counts as running: it is alive with its token and sessions, frozen, and answers
   * again on resume without a restart (the workspace's status says it is paused). Were it reported stopped, the
   * control plane would start it again, which a frozen container cannot do, and lose its sessions.
   */
  running(id: string): boolean {
    const pid = this.#agentPids.get(id);
    return pid !== undefined && processAlive(pid);
  }

  /** Starts the workspace's agent with `token`, or makes `token` current when it runs already. */
  async start(state: WorkspaceState, token: string): Promise<AgentEndpoint> {
    const { id, slot } = state;
    this.#refusePaused(state);
    await this.writeToken(state, token);
    const known = this.#deps.containers.livePid(slot);
    if (known !== undefined && this.#armed.has(slot)) {
      // An armed agent (a pooled container a fork took): released, it starts on the workspace's own files.
      await this.disarmed(slot);
      await this.#release(slot, known);
      this.#agentPids.set(id, known);
      this.#deps.log.info({ workspace: id, ip: state.ip }, 'agent started');
      return { ip: state.ip, port: this.#deps.agentPort };
    }
    // Created here and not started (a cold create's first start): known without a runtime call.
    const created = known === undefined ? this.#deps.containers.createdPid(slot) : undefined;
    const current =
      known !== undefined
        ? { status: 'running', pid: known }
        : created !== undefined
          ? { status: 'created', pid: created }
          : await this.#deps.runtime.state(slot);
    if (current?.status === 'running' && processAlive(current.pid)) {
      // Running already (recovered, or adopted from the pool): the new token is made current.
      await this.#signalToken(slot, current.pid);
      this.#agentPids.set(id, current.pid);
      return { ip: state.ip, port: this.#deps.agentPort };
    }
    if (current?.status !== 'created') {
      // The agent exited (or the container is gone): a fresh container from the same bundle.
      if (current) await this.#deps.runtime.delete(slot, true);
      await this.#deps.containers.recreate(state);
    }
    const pid = await this.launch(slot);
    this.#agentPids.set(id, pid);
    this.#deps.log.info({ workspace: id, ip: state.ip }, 'agent started');
    return { ip: state.ip, port: this.#deps.agentPort };
  }

  /**
   * Starts a created container's first process (the agent) and waits for it to be ready. `armed` (a container
   * created armed, for the warm pool's forks): waits until node is up with the agent loaded, waiting for
   * SIGUSR2 to start it (`start` sends it).
   */
  async launch(slot: string, armed = false): Promise<number> {
    // Its pid as its creation gave it, alive (else the runtime is asked: created by an earlier driver, or gone).
    const known = this.#deps.containers.takeCreatedPid(slot);
    const created = known !== undefined && processAlive(known) ? { pid: known } : await this.#deps.runtime.state(slot);
    if (!created) throw new AppError('failed_to_start', 'the workspace container is missing');
    const logFile = this.#deps.slots.logFile(slot);
    const offset = await logOffset(logFile);
    await this.#deps.runtime.start(slot);
    const readyWait = performance.now();
    const alive = () => processAlive(created.pid);
    // The ready message is written in the same tick as the agent installs its SIGHUP handler: a rotation right after is safe.
    const ready = armed
      ? await waitForLogLine(logFile, offset, ARMED_LINE, this.#deps.startTimeoutMs, alive)
      : await waitForAgentEvent(logFile, offset, ['ready'], this.#deps.startTimeoutMs, alive);
    recordSpan('agent: ready wait', readyWait);
    if (ready) {
      this.#deps.containers.started(slot, created.pid);
      if (armed) await this.#arm(slot);
      else await this.disarmed(slot);
      return created.pid;
    }
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).slice(offset).trim().split('\n').pop() ?? '';
    await this.#deps.runtime.kill(slot, 'KILL', true);
    await this.#deps.runtime.delete(slot, true);
    throw new AppError('failed_to_start', `the workspace agent did not start: ${tail.slice(0, 300) || 'no output'}`);
  }

  /**
   * The mark, in the slot's directory, of a container whose agent is armed: a driver started again finds it
   * (`recoveredArmed`) and releases that agent at `start` instead of sending it a token it cannot take yet.
   */
  #armedMark(slot: string): string {
    return path.join(this.#deps.slots.slotDir(slot), 'armed');
  }

  async #arm(slot: string): Promise<void> {
    await writeFile(this.#armedMark(slot), '', { mode: 0o600 });
    this.#armed.add(slot);
  }

  /** At open: a running container whose agent was armed and never released (the mark says so). */
  recoveredArmed(slot: string): boolean {
    if (!existsSync(this.#armedMark(slot))) return false;
    this.#armed.add(slot);
    return true;
  }

  /** Forgets that the slot's container was armed (released, stopped or removed). */
  async disarmed(slot: string): Promise<void> {
    this.#armed.delete(slot);
    await rm(this.#armedMark(slot), { force: true });
  }

  /** SIGUSR2 to an armed agent (through tini), then waits for its ready message. */
  async #release(slot: string, pid: number): Promise<void> {
    const logFile = this.#deps.slots.logFile(slot);
    const offset = await logOffset(logFile);
    try {
      process.kill(pid, 'SIGUSR2');
    } catch {
      throw new AppError('failed_to_start', 'the workspace agent is not running');
    }
    const ready = await waitForAgentEvent(logFile, offset, ['ready'], this.#deps.startTimeoutMs, () => processAlive(pid));
    if (ready) return;
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).slice(offset).trim().split('\n').pop() ?? '';
    throw new AppError('failed_to_start', `the workspace agent did not start: ${tail.slice(0, 300) || 'no output'}`);
  }

  /**
   * Stops the agent; the workspace stays up (namespaces, address, mounts) with a created container. A paused
   * workspace's agent is stopped too (so that it never answers again with its old token), and the new
   * container is paused, as the workspace was.
   */
  async stop(state: WorkspaceState): Promise<void> {
    this.#agentPids.delete(state.id);
    await this.disarmed(state.slot);
    const status = (await this.#deps.runtime.state(state.slot))?.status;
    const paused = status === 'paused';
    // A paused container whose first process is not known to be the agent was paused created: no agent in it.
    if (status !== 'running' && !(paused && this.#deps.containers.livePid(state.slot) !== undefined)) return;
    await this.#deps.containers.kill(state.slot);
    await this.#deps.containers.recreate(state);
    if (paused) await this.#deps.containers.pause(state);
  }

  /** Makes `token` the agent's only valid one: the file now, and the running agent by SIGHUP. */
  async setToken(state: WorkspaceState, token: string): Promise<void> {
    this.#refusePaused(state);
    await this.writeToken(state, token);
    const pid = this.#agentPids.get(state.id);
    if (pid !== undefined && processAlive(pid)) await this.#signalToken(state.slot, pid);
  }

  /** A frozen agent can neither start nor take a token (its log would stay silent until the timeout): fails fast. */
  #refusePaused(state: WorkspaceState): void {
    if (this.#deps.containers.isPaused(state.slot)) throw new AppError('conflict', `workspace '${state.id}' is paused; resume it first`);
  }

  /**
   * Writes the token file, readable by the workspace's root only (its range's base, mode 0400) in a directory
   * of the host's root it may enter but not write (and read-only inside). Replaced by rename, so the agent
   * reads either the old file or the new one whole.
   */
  async writeToken(state: WorkspaceState, token: string): Promise<void> {
    const file = path.join(this.#deps.slots.tokenDir(state.slot), 'token');
    await writeFile(`${file}.tmp`, `${token}\n`, { mode: 0o400 });
    await chown(`${file}.tmp`, state.idRange.base, state.idRange.base);
    await rename(`${file}.tmp`, file);
  }

  /** SIGHUP to the agent (through tini), then waits for its `token-reloaded` (or `token-reload-failed`) message. */
  async #signalToken(slot: string, pid: number): Promise<void> {
    const logFile = this.#deps.slots.logFile(slot);
    const offset = await logOffset(logFile);
    // Straight to the container's first process (tini forwards it to the agent): no runtime call on the hot path.
    try {
      process.kill(pid, 'SIGHUP');
    } catch {
      throw new AppError('service_unavailable', 'the workspace agent is not running');
    }
    const answer = await waitForAgentEvent(logFile, offset, ['token-reloaded', 'token-reload-failed'], 10_000, () => processAlive(pid));
    if (answer?.type === 'token-reloaded') return;
    throw new AppError(
      'service_unavailable',
      answer ? `the workspace agent could not read its new token: ${answer.error}` : 'the workspace agent did not take the new token',
    );
  }
}
