// The container of each slot: its OCI bundle, `runc create`, limits, pause and resume, kill, and the removal of
// a whole slot; also which containers' first process (tini running the agent) this driver knows to run, by host
// pid, and which containers are paused.
import { chown, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError, type ImageConfig, type WorkspaceSpec } from '@cove/protocol';
import type { AddressPlan } from './addresses.js';
import {
  type AgentFiles,
  agentArgs,
  agentBinds,
  agentEnv,
  agentRuntime,
  ENV_FILE_NAME,
  workspaceEnv,
  workspaceWorkdir,
} from './agent-files.js';
import type { AgentRuntime } from './agent-runtime.js';
import { idmappedBind, mountRoot } from './disk.js';
import { emptyCgroup, forceRemoveContainer } from './force-remove.js';
import type { ImageInfo, ImageStore } from './images.js';
import { ensureNetwork, netnsPath, removeNetwork } from './netns.js';
import { ociConfig } from './oci-spec.js';
import { processAlive } from './process-alive.js';
import { workspaceResolvConf } from './resolv-conf.js';
import type { OciRuntime } from './runc.js';
import type { SandboxDriverOptions } from './sandbox-options.js';
import type { LegacyState, Slots, WorkspaceState } from './slots.js';
import { span } from './trace.js';
import { ensureUserns } from './userns.js';

/** Where the token file's directory is mounted inside. */
const TOKEN_DIR = '/run/cove';
/** The image config a slot's container was made with, beside its bundle: Entrypoint and Cmd for workloads. */
const IMAGE_CONFIG_FILE = 'image-config.json';

export type Limits = Pick<WorkspaceSpec, 'cpus' | 'memoryMb'>;

export interface ContainersDeps {
  options: SandboxDriverOptions;
  runtime: OciRuntime;
  images: ImageStore;
  plan: AddressPlan;
  slots: Slots;
  agentFiles: AgentFiles;
  agentPort: number;
}

export class Containers {
  readonly #deps: ContainersDeps;
  /** Containers (by slot) whose first process this driver started or recovered: their host pid. */
  readonly #runningPids = new Map<string, number>();
  /** Containers (by slot) created by this driver and not started yet: their first process's host pid. */
  readonly #createdPids = new Map<string, number>();
  /** Containers (by slot) frozen by `pause` (or found paused at open), until `resume` or `kill`. */
  readonly #paused = new Set<string>();
  /** The agent's runtime, made (or found) once per driver on first use. */
  #runtime: Promise<AgentRuntime> | undefined;

  constructor(deps: ContainersDeps) {
    this.#deps = deps;
  }

  /** Records the host pid of a container's first process (started here, or found running at open). */
  started(slot: string, pid: number): void {
    this.#runningPids.set(slot, pid);
  }

  /** Records a container found paused at open: it stays paused until `resume`. */
  recoveredPaused(slot: string): void {
    this.#paused.add(slot);
  }

  /** Whether the slot's container is paused (known without a runtime call). */
  isPaused(slot: string): boolean {
    return this.#paused.has(slot);
  }

  /**
   * Freezes every process of the container (`runc pause`: the cgroup freezer, memory kept). Idempotent; a
   * created container (no agent started) is frozen too. Fails when the container is not up.
   */
  async pause(state: WorkspaceState): Promise<void> {
    const status = await this.#upStatus(state, 'paused');
    if (status !== 'paused') await this.#deps.runtime.pause(state.slot);
    this.#paused.add(state.slot);
  }

  /**
   * Thaws a paused container: its processes run on where they stopped. Idempotent. A known workspace whose
   * container is gone (the host rebooted while it was paused) has nothing to thaw: the control plane boots
   * it after resuming, as `start` would.
   */
  async resume(state: WorkspaceState): Promise<void> {
    this.#paused.delete(state.slot);
    if ((await this.#deps.runtime.state(state.slot))?.status === 'paused') await this.#deps.runtime.resume(state.slot);
  }

  /** The container's status when it is up (created, running or paused); an error naming `verb` otherwise. */
  async #upStatus(state: WorkspaceState, verb: string): Promise<string> {
    const status = (await this.#deps.runtime.state(state.slot))?.status;
    if (status === 'created' || status === 'running' || status === 'paused') return status;
    const why = status ? `its container is ${status}` : 'it has no container';
    throw new AppError('conflict', `workspace '${state.id}' is not running (${why}); it cannot be ${verb}`);
  }

  /** The pid of the slot's first process when this driver knows it and it is alive. */
  livePid(slot: string): number | undefined {
    const known = this.#runningPids.get(slot);
    return known !== undefined && processAlive(known) ? known : undefined;
  }

  #resources(spec: Limits) {
    return { cpus: spec.cpus, memoryMb: spec.memoryMb, pidsLimit: this.#deps.options.pidsLimit ?? 4096 };
  }

  /**
   * Writes the bundle (config.json, resolv.conf, the workspace's environment, the image config it applies) and
   * creates the container: its first process waits for `runc start`.
   */
  async create(spec: Limits, state: WorkspaceState, armed = false): Promise<void> {
    const image = await span('container: prepare', () => this.#prepare(state));
    await span('container: bundle', () => this.#writeBundle(spec, state, image, armed));
    const logFile = this.#deps.slots.logFile(state.slot);
    // The log is kept small: each container starts a fresh one once it passes 1 MiB.
    // (A log still bound from a pooled disk, see disk.ts `replaceRunningDisk`, cannot be removed: it stays.)
    if (((await stat(logFile).catch(() => undefined))?.size ?? 0) > 1024 * 1024) await rm(logFile, { force: true }).catch(() => {});
    await span('container: runc create', () => this.#runtimeCreate(state.slot));
  }

  /**
   * Writes the bundle again as a plain workspace's (an armed pool container's, once a fork took it): the
   * container runs on; its next creation (a restart of the agent or of the workspace) starts the agent at once.
   */
  async rewriteBundle(spec: Limits, state: WorkspaceState): Promise<void> {
    await this.#writeBundle(spec, state, await this.#deps.images.ensure(state.image), false);
  }

  /**
   * config.json and what it names. `armed`: the agent waits for SIGUSR2 before it starts (its container may
   * get another root meanwhile: a fork's disk), and the container starts in `/` (carried along by the switch;
   * the agent enters its working directory once released).
   */
  async #writeBundle(spec: Limits, state: WorkspaceState, image: ImageInfo, armed: boolean): Promise<void> {
    const runtime = await this.#agentRuntime();
    const { slot } = state;
    const dir = this.#deps.slots.slotDir(slot);
    const layout = this.#deps.slots.layout(slot);
    const imageConfig = configOf(image);
    // World-readable: root inside is not the host's root.
    await writeFile(this.#deps.slots.resolvConfFile(slot), await workspaceResolvConf(), { mode: 0o644 });
    await this.#writeEnvFile(state, workspaceEnv(imageConfig));
    await writeFile(path.join(dir, IMAGE_CONFIG_FILE), `${JSON.stringify(imageConfig ?? null)}\n`, { mode: 0o600 });
    const workdir = workspaceWorkdir(imageConfig);
    const config = ociConfig({
      id: slot,
      rootfs: layout.rootfs,
      hostname: (state.id || slot).replace(/_/g, '-'),
      args: agentArgs({
        port: this.#deps.agentPort,
        workdir,
        tokenFile: `${TOKEN_DIR}/token`,
        envFile: `${TOKEN_DIR}/${ENV_FILE_NAME}`,
        user: imageConfig?.user,
      }),
      env: armed ? [...agentEnv(runtime), 'COVE_AGENT_ARMED=1'] : agentEnv(runtime),
      // runc makes it inside the root when the image lacks it (as an engine makes an image's WorkingDir),
      // never on the host: the image's symlinks could lead a host-side mkdir out of its root.
      cwd: armed ? '/' : workdir,
      netnsPath: netnsPath(slot),
      userns: { path: this.#deps.slots.usernsFile(slot), ...state.idRange },
      cgroupsPath: `/${this.#deps.options.cgroupParent ?? 'cove'}/${slot}`,
      ...this.#resources(spec),
      binds: [
        // The idmapped views of the host's directories (the `host` image's /usr): owned by root inside, so
        // set-id programs work as on any image (as the workspace's root, which is no one on the host).
        ...image.hostBinds.map((b, i) => ({ source: idmappedBind(layout, i), destination: b.destination, readonly: true, setuid: true })),
        ...agentBinds(this.#deps.agentFiles, runtime),
        // The directory, not the file: a rewritten (renamed-over) token file is visible inside.
        { source: this.#deps.slots.tokenDir(slot), destination: TOKEN_DIR, readonly: true },
        { source: this.#deps.slots.resolvConfFile(slot), destination: '/etc/resolv.conf', readonly: true },
      ],
    });
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  }

  /** The image config the slot's container was made with (null: the image has none), or undefined before its first start. */
  async imageConfig(slot: string): Promise<ImageConfig | null | undefined> {
    const text = await readFile(path.join(this.#deps.slots.slotDir(slot), IMAGE_CONFIG_FILE), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as ImageConfig | null);
  }

  #agentRuntime(): Promise<AgentRuntime> {
    this.#runtime ??= agentRuntime(this.#deps.agentFiles).catch((err: Error) => {
      // A failed make is tried again by the next create (the cause may be fixed meanwhile).
      this.#runtime = undefined;
      throw new AppError('failed_to_start', err.message);
    });
    return this.#runtime;
  }

  /**
   * The workspace's environment for the agent's commands, as the agent reads it: a JSON array of `KEY=value`,
   * readable by the workspace's root only (as the token is: an image's Env may hold what its users should not
   * read), in the token's directory. Replaced by rename, like the token.
   */
  async #writeEnvFile(state: WorkspaceState, env: string[]): Promise<void> {
    const file = path.join(this.#deps.slots.tokenDir(state.slot), ENV_FILE_NAME);
    await writeFile(`${file}.tmp`, `${JSON.stringify(env)}\n`, { mode: 0o400 });
    await chown(`${file}.tmp`, state.idRange.base, state.idRange.base);
    await rename(`${file}.tmp`, file);
  }

  async #runtimeCreate(slot: string): Promise<void> {
    const log = await open(this.#deps.slots.logFile(slot), 'a', 0o600);
    try {
      const pid = await this.#deps.runtime.create(slot, this.#deps.slots.slotDir(slot), log.fd, this.#deps.slots.logFile(slot));
      if (Number.isInteger(pid) && pid > 0) this.#createdPids.set(slot, pid);
    } finally {
      await log.close();
    }
  }

  /**
   * The pid of the slot's container created by this driver and not started yet, while that process lives: its
   * status is `created` (only `launch` starts it, taking the pid), known without a runtime call.
   */
  createdPid(slot: string): number | undefined {
    const pid = this.#createdPids.get(slot);
    return pid !== undefined && processAlive(pid) ? pid : undefined;
  }

  /** The pid of the slot's container created last by this driver, once (its start then needs no state call). */
  takeCreatedPid(slot: string): number | undefined {
    const pid = this.#createdPids.get(slot);
    this.#createdPids.delete(slot);
    return pid;
  }

  /** Creates the container again from its bundle (config.json written by start). */
  async recreate(state: WorkspaceState): Promise<void> {
    await this.#prepare(state);
    await this.#runtimeCreate(state.slot);
  }

  /**
   * What the container needs on the host, made again where missing (after a host restart, a stop): the pinned
   * user namespace, the network namespace it owns, the idmapped views and the overlay root.
   */
  async #prepare(state: WorkspaceState) {
    const image = await this.#deps.images.ensure(state.image);
    const userns = this.#deps.slots.usernsFile(state.slot);
    // A new user namespace (its pin was lost) cannot join a network namespace of the previous one: made again.
    if (await ensureUserns(userns, state.idRange)) await removeNetwork(state.slot);
    await ensureNetwork(state.slot, state.ip, this.#deps.plan.hostAddress, userns);
    await mountRoot(this.#deps.slots.layout(state.slot), image, state.idRange, userns, state.diskBase);
    return image;
  }

  /** Sets a running container's CPU, memory and process limits (`runc update`). */
  async setLimits(slot: string, spec: Limits): Promise<void> {
    const r = this.#resources(spec);
    const memory = r.memoryMb * 1024 * 1024;
    await this.#deps.runtime.update(slot, {
      memory: { limit: memory, swap: memory },
      cpu: { shares: Math.max(2, Math.round(r.cpus * 1024)), quota: Math.round(r.cpus * 100_000), period: 100_000 },
      pids: { limit: r.pidsLimit },
    });
  }

  /**
   * Stops the container: SIGTERM to the agent (tini forwards it), then SIGKILL to every process in it. A
   * paused container is thawed first: a frozen process cannot act on SIGTERM (it would stay pending until
   * the timeout), so it stops as a running one does.
   */
  async kill(slot: string): Promise<void> {
    this.#runningPids.delete(slot);
    this.#createdPids.delete(slot);
    this.#paused.delete(slot);
    const cgroup = `${this.#deps.options.cgroupParent ?? 'cove'}/${slot}`;
    let current = await this.#deps.runtime.state(slot);
    if (!current) {
      // The runtime forgot it, but its processes may live on in the cgroup (a removal cut short).
      await emptyCgroup(cgroup);
      return;
    }
    if (current.status === 'paused') {
      // Should the thaw fail, `kill --all KILL` below still thaws the cgroup after signalling every process.
      await this.#deps.runtime.resume(slot).catch(() => {});
      current = (await this.#deps.runtime.state(slot)) ?? current;
    }
    if (current.status === 'running') {
      await this.#deps.runtime.kill(slot, 'TERM');
      const deadline = Date.now() + (this.#deps.options.stopTimeoutMs ?? 5000);
      while (Date.now() < deadline && (await this.#deps.runtime.state(slot))?.status === 'running') await delay(20);
    }
    // Whatever its processes are doing (frozen, stuck, fork-bombing): see force-remove.ts.
    const left = await forceRemoveContainer(this.#deps.runtime, slot, cgroup);
    if (left.length > 0) this.#deps.options.log.warn({ slot, pids: left }, 'processes of a removed container would not die yet');
  }

  /** Removes everything of a slot: container, network, disk, directory. */
  async removeSlot(state: WorkspaceState | LegacyState): Promise<void> {
    await this.#deps.slots.markRemoving(state.slot);
    await this.kill(state.slot);
    await this.#deps.slots.remove(state);
  }
}

/** The config of an image the store has (the store's `ImageInfo.config`); undefined for images without one. */
function configOf(image: ImageInfo): ImageConfig | undefined {
  return (image as ImageInfo & { config?: ImageConfig }).config;
}
