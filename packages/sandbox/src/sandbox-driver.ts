import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { AgentEndpoint, ResolvedNetwork, WorkspaceDriver, WorkspaceSpec } from '@cove/api';
import { AppError } from '@cove/protocol';
import type { Logger } from 'pino';
import { AddressPlan } from './addresses.js';
import { type AgentFiles, agentArgs, agentBinds, defaultAgentFiles, missingAgentFiles } from './agent-files.js';
import { createDisk, type DiskLayout, diskLayout, mountRoot, removeDisk, unmountRoot } from './disk.js';
import { applyRuleset, type FirewallEntry, removeTable, renderRuleset } from './firewall.js';
import { ImageStore } from './images.js';
import { logOffset, waitForLog } from './log-watch.js';
import { enableForwarding, ensureNetwork, netnsPath, removeNetwork } from './netns.js';
import { ociConfig } from './oci-spec.js';
import { processAlive } from './process-alive.js';
import { OciRuntime } from './runc.js';
import { KeyedSerial } from './serial.js';

export interface SandboxDriverOptions {
  /** Holds `workspaces/<id>/` (disk image, bundle, token) and, by default, `images/`. */
  dataDir: string;
  log: Logger;
  /** Image cache (default `<dataDir>/images`); share it between data dirs to build images once. */
  imagesDir?: string;
  /** The OCI runtime binary (default `runc`; crun where the host's cgroup layout allows). */
  runtime?: string;
  /** The runtime's state directory (default `/run/cove/<hash of dataDir>`). */
  runtimeRoot?: string;
  /** The workspaces' private subnet (default 10.88.0.0/16); the first address is the host side. */
  subnet?: string;
  /** The nftables table (family inet) this driver owns (default `cove`). */
  nftTable?: string;
  /** cgroup parent of the workspaces (default `cove`). */
  cgroupParent?: string;
  /** Process-count limit per workspace (default 4096). */
  pidsLimit?: number;
  /** The Internal API port inside each workspace (default 9990). */
  agentPort?: number;
  /** How long stop waits after SIGTERM before SIGKILL (default 5000 ms). */
  stopTimeoutMs?: number;
  /** How long an agent may take to listen (default 60 s). */
  startTimeoutMs?: number;
  debianMirror?: string;
  agentFiles?: AgentFiles;
  /**
   * Workspaces kept ready (disk, overlay, network, container and a running
   * agent) for creates that match them: a create then only adopts one, sets
   * its limits and token, instead of paying for a cold agent start.
   */
  warmPool?: WarmPoolOptions;
}

export interface WarmPoolOptions {
  size: number;
  /** The image and disk size a create must ask for to adopt a pooled workspace. */
  image: string;
  diskMb: number;
}

/** What the driver keeps per workspace (`state.json`), enough to rebuild everything after a restart. */
interface WorkspaceState {
  /** The workspace's id ('' while the slot waits in the warm pool). */
  id: string;
  /**
   * The name of its host-side resources: directory, container, network
   * namespace, veth, cgroup. The workspace's id when created cold; a pool
   * slot's own name when it came from the warm pool.
   */
  slot: string;
  ip: string;
  image: string;
  network: ResolvedNetwork;
}

const DEFAULT_NETWORK: ResolvedNetwork = {
  publicAccess: false,
  allowInternet: true,
  privateLinkIds: [],
  ingressPorts: [],
  egress: [],
  privateLinks: [],
};

const TOKEN_DIR = '/run/cove';
const WORKDIR = '/root';

/**
 * The Linux sandbox driver. A workspace is an OCI bundle run by runc: its
 * own mount, PID, UTS, IPC, cgroup and network namespaces; an overlay root
 * (image below, the workspace's upper layer on its own ext4 disk image on
 * top); cgroup limits for CPU, memory and processes; a private address on a
 * veth link and nftables rules for its network settings.
 *
 * The workspace's container is created at `start` (namespaces, cgroups and
 * mounts ready, first process waiting) and started by `startAgent`: the
 * first process is tini running the agent, which is not part of the image
 * but bind-mounted read-only with its token file's directory.
 */
export class SandboxDriver implements WorkspaceDriver {
  readonly name = 'sandbox';
  readonly canPause = false;
  readonly #opts: SandboxDriverOptions;
  readonly #runtime: OciRuntime;
  readonly #images: ImageStore;
  readonly #plan: AddressPlan;
  readonly #agentFiles: AgentFiles;
  readonly #agentPort: number;
  readonly #table: string;
  readonly #states = new Map<string, WorkspaceState>();
  /** Workspaces whose agent runs: the container's first process id. */
  readonly #agentPids = new Map<string, number>();
  /** Containers (by slot) whose first process this driver started or recovered: their host pid. */
  readonly #runningPids = new Map<string, number>();
  readonly #serial = new KeyedSerial();
  /** Address allocation and firewall changes are global. */
  readonly #global = new KeyedSerial();

  private constructor(options: SandboxDriverOptions) {
    this.#opts = options;
    const runtimeRoot =
      options.runtimeRoot ?? `/run/cove/${createHash('sha256').update(path.resolve(options.dataDir)).digest('hex').slice(0, 12)}`;
    this.#runtime = new OciRuntime(options.runtime ?? 'runc', runtimeRoot);
    this.#images = new ImageStore({
      dir: options.imagesDir ?? path.join(options.dataDir, 'images'),
      debianMirror: options.debianMirror ?? 'http://deb.debian.org/debian',
      log: options.log,
    });
    this.#plan = new AddressPlan(options.subnet ?? '10.88.0.0/16');
    this.#agentFiles = options.agentFiles ?? defaultAgentFiles();
    this.#agentPort = options.agentPort ?? 9990;
    this.#table = options.nftTable ?? 'cove';
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(this.#table)) throw new Error(`invalid nftables table name '${this.#table}'`);
  }

  /**
   * Opens the driver: checks the host, then recovers the state of the
   * workspaces it already has (their containers, links and firewall rules)
   * so that a restarted control plane finds running workspaces running.
   */
  static async open(options: SandboxDriverOptions): Promise<SandboxDriver> {
    const driver = new SandboxDriver(options);
    await driver.#init();
    return driver;
  }

  get subnet(): string {
    return this.#plan.cidr;
  }

  get images(): ImageStore {
    return this.#images;
  }

  get runtime(): OciRuntime {
    return this.#runtime;
  }

  get table(): string {
    return this.#table;
  }

  async #init(): Promise<void> {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) throw new Error('the sandbox driver needs root on Linux');
    const missing = missingAgentFiles(this.#agentFiles);
    if (missing.length > 0) throw new Error(`the agent's files are missing (build first: npx tsc -b packages/cli): ${missing.join(', ')}`);
    await mkdir(this.#workspacesDir(), { recursive: true, mode: 0o700 });
    await mkdir(this.#runtime.root, { recursive: true, mode: 0o700 });
    await enableForwarding();
    const stalePool: WorkspaceState[] = [];
    for (const entry of await readdir(this.#workspacesDir())) {
      const state = await readFile(path.join(this.#workspacesDir(), entry, 'state.json'), 'utf8')
        .then((t) => JSON.parse(t) as WorkspaceState)
        .catch(() => undefined);
      if (!state) continue;
      state.slot ??= state.id;
      if (state.slot !== entry) continue;
      if (state.id === '') stalePool.push(state);
      else this.#states.set(state.id, state);
    }
    for (const c of await this.#runtime.list()) {
      const state = [...this.#states.values()].find((s) => s.slot === c.id);
      // After a restart, a running agent has the token the control plane re-sends with startAgent.
      if (c.status === 'running' && state) {
        this.#agentPids.set(state.id, c.pid);
        this.#runningPids.set(c.id, c.pid);
      }
    }
    await this.#applyFirewall();
    // Pool slots of a previous run are not adopted (their state is not worth trusting); they are remade.
    for (const slot of stalePool) await this.#removeSlot(slot).catch(() => {});
    this.#opts.log.info({ workspaces: this.#states.size, agents: this.#agentPids.size, subnet: this.#plan.cidr }, 'sandbox driver ready');
    this.#fillPool();
  }

  #workspacesDir(): string {
    return path.join(this.#opts.dataDir, 'workspaces');
  }

  #dir(slot: string): string {
    return path.join(this.#workspacesDir(), slot);
  }

  #layout(slot: string): DiskLayout {
    return diskLayout(this.#dir(slot));
  }

  #logFile(slot: string): string {
    return path.join(this.#dir(slot), 'agent.log');
  }

  #state(id: string): WorkspaceState {
    const state = this.#states.get(id);
    if (!state) throw new AppError('not_found', `the sandbox driver has no workspace '${id}'`);
    return state;
  }

  async #saveState(state: WorkspaceState): Promise<void> {
    const file = path.join(this.#dir(state.slot), 'state.json');
    await writeFile(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  #imageName(image: string): string {
    const name = this.#images.resolve(image);
    if (!name) throw new AppError('bad_request', `invalid parameter 'image': unknown image '${image}' (known: host, debian:12)`);
    return name;
  }

  /** Makes a slot's persistent state: directory, disk, address, network namespace and link, mounted overlay. */
  async #makeSlot(slot: string, id: string, image: string, diskMb: number): Promise<WorkspaceState> {
    const rootfs = (await this.#images.ensure(image)).rootfs;
    const dir = this.#dir(slot);
    await mkdir(dir, { recursive: false, mode: 0o700 });
    await mkdir(path.join(dir, 'token'), { mode: 0o700 });
    const state = await this.#global.run('ip', async () => {
      const used = new Set([...this.#states.values(), ...this.#pool, ...this.#poolPending].map((s) => s.ip));
      return { id, slot, ip: this.#plan.allocate(used), image, network: DEFAULT_NETWORK } satisfies WorkspaceState;
    });
    if (id === '') this.#poolPending.add(state);
    else this.#states.set(id, state);
    await this.#saveState(state);
    await createDisk(this.#layout(slot), diskMb);
    // The namespace, link and overlay are made now so that start does not pay for them.
    await ensureNetwork(slot, state.ip, this.#plan.hostAddress);
    await mountRoot(this.#layout(slot), rootfs);
    return state;
  }

  create(spec: WorkspaceSpec): Promise<void> {
    return this.#serial.run(spec.id, async () => {
      if (this.#states.has(spec.id)) return;
      const image = this.#imageName(spec.image);
      if (await this.#adopt(spec, image)) return;
      await this.#makeSlot(spec.id, spec.id, image, spec.diskMb);
      await this.#applyFirewall();
    });
  }

  start(spec: WorkspaceSpec): Promise<{ ip: string }> {
    return this.#serial.run(spec.id, async () => {
      const state = this.#state(spec.id);
      const known = this.#runningPids.get(state.slot);
      // A container whose first process we know alive is up (adopted from the pool, or started here): no runtime call.
      if (known !== undefined && processAlive(known)) return { ip: state.ip };
      const current = await this.#runtime.state(state.slot);
      if (current?.status === 'created' || current?.status === 'running') return { ip: state.ip };
      if (current) await this.#runtime.delete(state.slot, true);
      await this.#createContainer(spec, state);
      return { ip: state.ip };
    });
  }

  #resources(spec: Pick<WorkspaceSpec, 'cpus' | 'memoryMb'>) {
    return { cpus: spec.cpus, memoryMb: spec.memoryMb, pidsLimit: this.#opts.pidsLimit ?? 4096 };
  }

  async #createContainer(spec: Pick<WorkspaceSpec, 'cpus' | 'memoryMb'>, state: WorkspaceState): Promise<void> {
    const image = await this.#images.ensure(state.image);
    const { slot } = state;
    const dir = this.#dir(slot);
    await mountRoot(this.#layout(slot), image.rootfs);
    await ensureNetwork(slot, state.ip, this.#plan.hostAddress);
    await writeFile(path.join(dir, 'resolv.conf'), await resolvConf());
    const config = ociConfig({
      id: slot,
      rootfs: this.#layout(slot).rootfs,
      hostname: (state.id || slot).replace(/_/g, '-'),
      args: agentArgs(this.#agentPort, WORKDIR, `${TOKEN_DIR}/token`),
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOME=${WORKDIR}`, 'LANG=C.UTF-8', 'TERM=xterm-256color'],
      cwd: WORKDIR,
      netnsPath: netnsPath(slot),
      cgroupsPath: `/${this.#opts.cgroupParent ?? 'cove'}/${slot}`,
      ...this.#resources(spec),
      binds: [
        ...image.hostBinds.map((b) => ({ ...b, readonly: true })),
        ...agentBinds(this.#agentFiles),
        // The directory, not the file: a rewritten (renamed-over) token file is visible inside.
        { source: path.join(dir, 'token'), destination: TOKEN_DIR, readonly: true },
        { source: path.join(dir, 'resolv.conf'), destination: '/etc/resolv.conf', readonly: true },
      ],
    });
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
    const logFile = this.#logFile(slot);
    // The log is kept small: each container starts a fresh one once it passes 1 MiB.
    if (((await stat(logFile).catch(() => undefined))?.size ?? 0) > 1024 * 1024) await rm(logFile, { force: true });
    await this.#runtimeCreate(slot);
  }

  async #runtimeCreate(slot: string): Promise<void> {
    const log = await open(this.#logFile(slot), 'a', 0o600);
    try {
      await this.#runtime.create(slot, this.#dir(slot), log.fd);
    } finally {
      await log.close();
    }
  }

  gatewayAddress(id: string): string | null {
    return this.#states.has(id) ? this.#plan.hostAddress : null;
  }

  stop(id: string): Promise<void> {
    return this.#serial.run(id, async () => {
      const state = this.#states.get(id);
      if (!state) return;
      this.#agentPids.delete(id);
      await this.#killContainer(state.slot);
      await unmountRoot(this.#layout(state.slot));
    });
  }

  /** Stops the container: SIGTERM to the agent (tini forwards it), then SIGKILL to every process in it. */
  async #killContainer(slot: string): Promise<void> {
    this.#runningPids.delete(slot);
    const current = await this.#runtime.state(slot);
    if (!current) return;
    if (current.status === 'running') {
      await this.#runtime.kill(slot, 'TERM');
      const deadline = Date.now() + (this.#opts.stopTimeoutMs ?? 5000);
      while (Date.now() < deadline && (await this.#runtime.state(slot))?.status === 'running') await delay(20);
    }
    await this.#runtime.kill(slot, 'KILL', true);
    await this.#runtime.delete(slot, true);
  }

  /** Removes everything of a slot: container, network, disk, directory. */
  async #removeSlot(state: WorkspaceState): Promise<void> {
    await this.#killContainer(state.slot);
    await removeNetwork(state.slot);
    await removeDisk(this.#layout(state.slot));
    await rm(this.#dir(state.slot), { recursive: true, force: true });
  }

  async destroy(id: string): Promise<void> {
    await this.#serial.run(id, async () => {
      const state = this.#states.get(id);
      this.#agentPids.delete(id);
      if (!state) return;
      await this.#removeSlot(state);
      this.#states.delete(id);
    });
    await this.#applyFirewall();
  }

  startAgent(id: string, token: string, _preferredPort?: number | null): Promise<AgentEndpoint> {
    return this.#serial.run(id, async () => {
      const state = this.#state(id);
      const { slot } = state;
      await this.#writeToken(slot, token);
      const known = this.#runningPids.get(slot);
      const current = known !== undefined && processAlive(known) ? { status: 'running', pid: known } : await this.#runtime.state(slot);
      if (current?.status === 'running' && processAlive(current.pid)) {
        // Running already (recovered, or adopted from the pool): the new token is made current.
        await this.#signalToken(slot, current.pid);
        this.#agentPids.set(id, current.pid);
        return { ip: state.ip, port: this.#agentPort };
      }
      if (current?.status !== 'created') {
        // The agent exited (or the container is gone): a fresh container from the same bundle.
        if (current) await this.#runtime.delete(slot, true);
        await this.#recreate(state);
      }
      const pid = await this.#startContainer(slot);
      this.#agentPids.set(id, pid);
      this.#opts.log.info({ workspace: id, ip: state.ip }, 'agent started');
      return { ip: state.ip, port: this.#agentPort };
    });
  }

  /** Starts a created container's first process (the agent) and waits for it to be ready. */
  async #startContainer(slot: string): Promise<number> {
    const created = await this.#runtime.state(slot);
    if (!created) throw new AppError('failed_to_start', 'the workspace container is missing');
    const offset = await logOffset(this.#logFile(slot));
    await this.#runtime.start(slot);
    const found = await waitForLog(this.#logFile(slot), offset, ['cove agent ready on'], this.#opts.startTimeoutMs ?? 60_000, () =>
      processAlive(created.pid),
    );
    // The ready line is printed in the same tick as the agent installs its SIGHUP handler: a rotation right after is safe.
    if (found === 0) {
      this.#runningPids.set(slot, created.pid);
      return created.pid;
    }
    const tail = (await readFile(this.#logFile(slot), 'utf8').catch(() => '')).slice(offset).trim().split('\n').pop() ?? '';
    await this.#runtime.kill(slot, 'KILL', true);
    await this.#runtime.delete(slot, true);
    throw new AppError('failed_to_start', `the workspace agent did not start: ${tail.slice(0, 300) || 'no output'}`);
  }

  /** Creates the container again from its bundle (config.json written by start). */
  async #recreate(state: WorkspaceState): Promise<void> {
    const image = await this.#images.ensure(state.image);
    await mountRoot(this.#layout(state.slot), image.rootfs);
    await ensureNetwork(state.slot, state.ip, this.#plan.hostAddress);
    await this.#runtimeCreate(state.slot);
  }

  stopAgent(id: string): Promise<void> {
    return this.#serial.run(id, async () => {
      const state = this.#states.get(id);
      if (!state) return;
      this.#agentPids.delete(id);
      if ((await this.#runtime.state(state.slot))?.status !== 'running') return;
      await this.#killContainer(state.slot);
      // The workspace stays up (namespaces, address, mounts) without its agent.
      await this.#recreate(state);
    });
  }

  setAgentToken(id: string, token: string): Promise<void> {
    return this.#serial.run(id, async () => {
      const state = this.#state(id);
      await this.#writeToken(state.slot, token);
      const pid = this.#agentPids.get(id);
      if (pid !== undefined && processAlive(pid)) await this.#signalToken(state.slot, pid);
    });
  }

  /** Whether the agent serves the workspace's token (an adopted pool agent counts once startAgent gave it one). */
  agentRunning(id: string): boolean {
    const pid = this.#agentPids.get(id);
    return pid !== undefined && processAlive(pid);
  }

  async #writeToken(slot: string, token: string): Promise<void> {
    const file = path.join(this.#dir(slot), 'token', 'token');
    await writeFile(`${file}.tmp`, `${token}\n`, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  /** SIGHUP to the agent (through tini), then waits for its log to confirm the reload. */
  async #signalToken(slot: string, pid: number): Promise<void> {
    const offset = await logOffset(this.#logFile(slot));
    // Straight to the container's first process (tini forwards it to the agent): no runtime call on the hot path.
    try {
      process.kill(pid, 'SIGHUP');
    } catch {
      throw new AppError('service_unavailable', 'the workspace agent is not running');
    }
    const found = await waitForLog(this.#logFile(slot), offset, ['token reloaded', 'token reload failed'], 10_000, () => processAlive(pid));
    if (found === 0) return;
    throw new AppError(
      'service_unavailable',
      found === 1 ? 'the workspace agent could not read its new token' : 'the workspace agent did not take the new token',
    );
  }

  async applyNetwork(id: string, network: ResolvedNetwork): Promise<void> {
    await this.#serial.run(id, async () => {
      const state = this.#state(id);
      state.network = { ...network, privateLinks: network.privateLinks.map((l) => ({ ...l })) };
      await this.#saveState(state);
    });
    await this.#applyFirewall();
  }

  /** Re-renders and replaces the whole table (atomic; live when nft returns). Pool slots are dark. */
  #applyFirewall(): Promise<void> {
    return this.#global.run('firewall', async () => {
      const entries: FirewallEntry[] = [...this.#states.values()].map((s) => ({
        id: s.slot,
        ip: s.ip,
        publicAccess: s.network.publicAccess,
        allowInternet: s.network.allowInternet,
        // Links resolve by id to this driver's own addresses: a deleted peer's address, reused later, gains nothing.
        linkedIps: s.network.privateLinkIds.flatMap((peer) => {
          const ip = this.#states.get(peer)?.ip;
          return ip ? [ip] : [];
        }),
        ingressPorts: s.network.ingressPorts,
      }));
      await applyRuleset(
        renderRuleset(
          { table: this.#table, subnet: this.#plan.cidr, hostAddress: this.#plan.hostAddress, agentPort: this.#agentPort },
          entries,
        ),
      );
    });
  }

  // ---- warm pool -------------------------------------------------------------------------------

  /** Ready slots (agent running with a throw-away token) and slots being made. */
  readonly #pool: WorkspaceState[] = [];
  readonly #poolPending = new Set<WorkspaceState>();
  #poolFilling = false;
  #closed = false;

  /** Adopts a pooled workspace for `spec` when one matches; false when the create must go cold. */
  async #adopt(spec: WorkspaceSpec, image: string): Promise<boolean> {
    const pool = this.#opts.warmPool;
    if (!pool || this.#imageName(pool.image) !== image || pool.diskMb !== spec.diskMb) return false;
    const slot = this.#pool.shift();
    if (slot) {
      // Claimed before the refill starts, so that the refill never hands out its address again.
      slot.id = spec.id;
      this.#states.set(spec.id, slot);
    }
    // The refill waits a moment: a cold agent start competing for the CPU would slow this create and the next ones.
    setTimeout(() => this.#fillPool(), slot ? 1000 : 0).unref();
    if (!slot) return false;
    try {
      // The pool's limits become the workspace's; its address, disk and agent are kept.
      const r = this.#resources(spec);
      const memory = r.memoryMb * 1024 * 1024;
      await Promise.all([
        this.#runtime.update(slot.slot, {
          memory: { limit: memory, swap: memory },
          cpu: { shares: Math.max(2, Math.round(r.cpus * 1024)), quota: Math.round(r.cpus * 100_000), period: 100_000 },
          pids: { limit: r.pidsLimit },
        }),
        this.#saveState(slot),
        this.#applyFirewall(),
      ]);
      this.#opts.log.debug({ workspace: spec.id, slot: slot.slot }, 'adopted a pooled workspace');
      return true;
    } catch (err) {
      this.#states.delete(spec.id);
      slot.id = '';
      await this.#removeSlot(slot).catch(() => {});
      this.#opts.log.warn({ err: (err as Error).message }, 'could not adopt a pooled workspace; creating one');
      return false;
    }
  }

  /** Tops the pool up in the background, one slot at a time. */
  #fillPool(): void {
    const pool = this.#opts.warmPool;
    if (!pool || this.#poolFilling || this.#closed) return;
    this.#poolFilling = true;
    const fill = async () => {
      const image = this.#imageName(pool.image);
      while (!this.#closed && this.#pool.length < pool.size) {
        const slotName = `wp_${randomBytes(6).toString('hex')}`;
        const state = await this.#makeSlot(slotName, '', image, pool.diskMb);
        try {
          await this.#createContainer({ cpus: 1, memoryMb: 1024 }, state);
          // The pooled agent gets a random token nobody knows; startAgent replaces it.
          await this.#writeToken(slotName, randomBytes(32).toString('hex'));
          await this.#startContainer(slotName);
        } catch (err) {
          this.#poolPending.delete(state);
          await this.#removeSlot(state).catch(() => {});
          throw err;
        }
        this.#poolPending.delete(state);
        if (this.#closed) await this.#removeSlot(state).catch(() => {});
        else this.#pool.push(state);
      }
    };
    fill()
      .catch((err: Error) => this.#opts.log.error({ err: err.message }, 'warm pool: could not prepare a workspace'))
      .finally(() => {
        this.#poolFilling = false;
      });
  }

  /** Resolves once the pool is full (benchmarks and tests; creates never wait for it). */
  async poolReady(timeoutMs = 120_000): Promise<void> {
    const size = this.#opts.warmPool?.size ?? 0;
    const deadline = Date.now() + timeoutMs;
    while (this.#pool.length < size) {
      if (Date.now() > deadline) throw new Error('the warm pool did not fill in time');
      this.#fillPool();
      await delay(20);
    }
  }

  /** Removes the pooled slots (ready and being made). */
  async #drainPool(): Promise<void> {
    this.#closed = true;
    while (this.#poolFilling) await delay(20);
    for (const slot of this.#pool.splice(0)) await this.#removeSlot(slot).catch(() => {});
  }

  async shutdown(): Promise<void> {
    await this.#drainPool();
    await Promise.all([...this.#states.keys()].map((id) => this.stop(id)));
  }

  /** Deletes every workspace and the firewall table (tests, uninstall). */
  async destroyAll(): Promise<void> {
    await this.#drainPool();
    for (const id of [...this.#states.keys()]) await this.destroy(id);
    await this.#global.run('firewall', () => removeTable(this.#table));
    await rmdir(this.#runtime.root).catch(() => {});
    // The cgroup parent runc made, in every hierarchy (rmdir refuses while another instance still uses it).
    const parent = this.#opts.cgroupParent ?? 'cove';
    for (const hierarchy of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
      await rmdir(path.join('/sys/fs/cgroup', hierarchy, parent)).catch(() => {});
    }
  }

  /** The workspace's address (for tests and tools). */
  addressOf(id: string): string | undefined {
    return this.#states.get(id)?.ip;
  }

  /** The name of the workspace's host-side resources (container, netns, veth, cgroup, directory). */
  slotOf(id: string): string | undefined {
    return this.#states.get(id)?.slot;
  }
}

/** The host's resolvers without loopback ones (unreachable from a workspace's namespace). */
async function resolvConf(): Promise<string> {
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const lines = host.split('\n').filter((l) => /^(nameserver|search|options)\s/.test(l) && !/^nameserver\s+(127\.|::1)/.test(l));
  if (!lines.some((l) => l.startsWith('nameserver'))) lines.push('nameserver 1.1.1.1');
  return `${lines.join('\n')}\n`;
}
