// The sandbox driver: the workspaces' lifecycle (open and recover, create, start, pause, resume, stop, delete) and their
// firewall, delegating to the slots on disk, their containers, the agents inside and the warm pool.
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import {
  type AgentEndpoint,
  type ResizeResult,
  type ResolvedNetwork,
  type ResourceSizes,
  SERVER_DEFAULTS,
  type WorkspaceDriver,
  type WorkspaceDriverEvent,
  type WorkspaceSpec,
  type WorkspaceStats,
} from '@cove/protocol';
import { AddressPlan, vethName } from './addresses.js';
import { AGENT_INIT, AGENT_STATE_DIR, type AgentFiles, defaultAgentFiles, missingAgentFiles } from './agent-files.js';
import { AgentWatch } from './agent-watch.js';
import { Agents } from './agents.js';
import { cgroupDirs } from './cgroups.js';
import { Containers } from './containers.js';
import { prepareRootsDir, unmountRoot } from './disk.js';
import { defaultEgressLookup } from './egress.js';
import { removeTable } from './firewall.js';
import { removeHalfMade } from './half-made.js';
import { ID_RANGES_DIR, type IdRange } from './id-ranges.js';
import { ImageStore } from './images/index.js';
import { claimNetwork, INSTANCES_DIR, type InstanceNetwork, instanceId, releaseNetwork } from './instance-network.js';
import { sweepDeadLocks } from './lock-file.js';
import { migrateLegacySlot } from './migrate.js';
import { enableForwarding } from './netns.js';
import { processArgs } from './process-alive.js';
import { growDiskBeforeStart, resizeSandbox } from './resize.js';
import { OciRuntime } from './runc.js';
import type { SandboxDriverOptions } from './sandbox-options.js';
import { KeyedSerial } from './serial.js';
import { Slots } from './slots.js';
import { type DiskPool, openDiskPool, removeDiskPool } from './snapshots/disk-pool.js';
import { frozenMark, thawDisks } from './snapshots/freeze.js';
import { SandboxSnapshots } from './snapshots/sandbox-snapshots.js';
import { readSandboxStats } from './stats/sandbox-stats.js';
import { span } from './trace.js';
import { nsHelperMissing } from './userns.js';
import { WarmPool } from './warm-pool.js';
import { WorkspaceFirewall } from './workspace-firewall.js';

export type { SandboxDriverOptions, WarmPoolOptions } from './sandbox-options.js';

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
 *
 * `pause` freezes the container with runc's cgroup freezer (memory kept, nothing in it runs, its agent
 * answers nothing) and `resume` thaws it; a paused container is adopted as paused when the driver opens.
 */
export class SandboxDriver implements WorkspaceDriver {
  readonly name = 'sandbox';
  readonly canPause = true;
  readonly #opts: SandboxDriverOptions;
  readonly #runtime: OciRuntime;
  readonly #images: ImageStore;
  readonly #plan: AddressPlan;
  readonly #agentFiles: AgentFiles;
  readonly #serial = new KeyedSerial();
  readonly #slots: Slots;
  readonly #firewall: WorkspaceFirewall;
  readonly #containers: Containers;
  readonly #agents: Agents;
  readonly #pool: WarmPool;
  readonly #snapshots: SandboxSnapshots;
  /** Slots made by `create` whose container `start` has not created yet (they have none: no runtime call to learn it). */
  readonly #madeHere = new Set<string>();
  readonly #watch = new AgentWatch(
    () => this.#slots.states.keys(),
    (id) => this.#agents.running(id),
  );

  private constructor(options: SandboxDriverOptions, network: InstanceNetwork, disks: DiskPool) {
    const { log } = options;
    const runtimeRoot = options.runtimeRoot ?? `/run/cove/${instanceId(options.dataDir)}`;
    const runtime = new OciRuntime(options.runtime ?? 'runc', runtimeRoot);
    const images = new ImageStore({
      dir: options.imagesDir ?? SERVER_DEFAULTS.imagesDir,
      debianMirror: options.debianMirror ?? 'http://deb.debian.org/debian',
      log,
    });
    const plan = new AddressPlan(network.subnet);
    const agentFiles = options.agentFiles ?? defaultAgentFiles();
    const agentPort = options.agentPort ?? SERVER_DEFAULTS.agentPort;
    // Address allocation and firewall changes are global.
    const global = new KeyedSerial();
    // The roots' mount points: outside the data directory, where the workspaces' roots can reach them.
    const rootsDir = `/run/cove/roots/${instanceId(options.dataDir)}`;
    const slots = new Slots({
      dir: path.join(options.dataDir, 'workspaces'),
      rootsDir,
      images,
      plan,
      global,
      pool: disks,
      diskOvercommit: options.diskOvercommit ?? false,
    });
    const firewall = new WorkspaceFirewall({
      table: network.table,
      plan,
      agentPort,
      slots,
      global,
      log,
      lookup: options.egressLookup ?? defaultEgressLookup,
      refreshMs: options.egressRefreshMs ?? 60_000,
    });
    const containers = new Containers({ options, runtime, images, plan, slots, agentFiles, agentPort });
    const agents = new Agents({ runtime, slots, containers, agentPort, log, startTimeoutMs: options.startTimeoutMs ?? 60_000 });
    const pool = new WarmPool({ options: options.warmPool, slots, containers, agents, log, firewall });
    this.#opts = options;
    this.#runtime = runtime;
    this.#images = images;
    this.#plan = plan;
    this.#agentFiles = agentFiles;
    this.#slots = slots;
    this.#firewall = firewall;
    this.#containers = containers;
    this.#agents = agents;
    this.#pool = pool;
    this.#snapshots = new SandboxSnapshots({
      dataDir: options.dataDir,
      pool: disks,
      slots,
      containers,
      runtime,
      serial: this.#serial,
      applyFirewall: () => firewall.apply(),
      forkPool: pool,
      log,
    });
  }

  /**
   * Opens the driver: checks the host, claims the instance's subnet and table (see `claimNetwork`), then
   * recovers the state of the workspaces it already has (their containers, links and firewall rules) so that
   * a restarted control plane finds running workspaces running.
   */
  static async open(options: SandboxDriverOptions): Promise<SandboxDriver> {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) throw new Error('the sandbox driver needs root on Linux');
    const helper = nsHelperMissing();
    if (helper) throw new Error(`the sandbox driver cannot run: ${helper}`);
    const network = await claimNetwork(options.dataDir, { subnet: options.subnet, table: options.nftTable }, options.ephemeralNetwork);
    const disks = await openDiskPool(options.dataDir, options.log);
    const driver = new SandboxDriver(options, network, disks);
    // A table given up for another (an explicit one replacing the recorded one) goes: nothing else may hold it.
    if (network.previousTable !== undefined) await removeTable(network.previousTable);
    await driver.#init();
    return driver;
  }

  get subnet(): string {
    return this.#plan.cidr;
  }

  /** The image store (the `ImageCatalog` of the driver interface, and what workspaces mount). */
  get images(): ImageStore {
    return this.#images;
  }

  get runtime(): OciRuntime {
    return this.#runtime;
  }

  /** Snapshots, restore, archives and forks (snapshots/): the disk cloned in constant time while frozen. */
  get snapshots(): SandboxSnapshots {
    return this.#snapshots;
  }

  get table(): string {
    return this.#firewall.table;
  }

  async #init(): Promise<void> {
    const missing = missingAgentFiles(this.#agentFiles);
    if (missing.length > 0) throw new Error(`the agent's files are missing (build first: npx tsc -b packages/cli): ${missing.join(', ')}`);
    await mkdir(this.#slots.dir, { recursive: true, mode: 0o700 });
    await mkdir(this.#runtime.root, { recursive: true, mode: 0o700 });
    await enableForwarding();
    await prepareRootsDir(this.#slots.rootsDir);
    const { stalePool, legacy, halfMade } = await this.#slots.load();
    // Slots a kill left half-made or half-removed go whole (container, mounts, disk, network, id range) before anything else.
    await removeHalfMade(halfMade, this.#containers, this.#opts.log);
    for (const state of legacy) {
      const migrated = await migrateLegacySlot(state, { slots: this.#slots, containers: this.#containers, log: this.#opts.log }).catch(
        (err: Error) => {
          throw new Error(`could not move workspace '${state.id}' into a user namespace: ${err.message}`);
        },
      );
      this.#slots.states.set(migrated.id, migrated);
    }
    // Workspaces of versions that did not record their image's use (the store spares what is in use).
    for (const state of this.#slots.states.values()) await this.#images.use(state.image, this.#slots.slotDir(state.slot));
    // Locks and work a process killed mid-pull (or mid-claim) left behind.
    await this.#images.recover();
    for (const dir of [ID_RANGES_DIR, INSTANCES_DIR]) await sweepDeadLocks(dir);
    // Disks a driver that stopped mid-snapshot left frozen.
    await thawDisks([...this.#slots.states.values()].map((s) => this.#slots.layout(s.slot).mountPoint));
    // Containers paused for a clone that never finished (the driver died mid-snapshot or mid-fork): they run on.
    const frozenForClone = new Set<string>();
    for (const { slot } of this.#slots.states.values()) {
      if (existsSync(frozenMark(this.#slots.slotDir(slot)))) frozenForClone.add(slot);
    }
    for (const c of await this.#runtime.list()) {
      const state = [...this.#slots.states.values()].find((s) => s.slot === c.id);
      if (!state) continue;
      if (c.status === 'paused' && frozenForClone.has(c.id)) {
        await this.#runtime.resume(c.id);
        c.status = 'running';
      }
      // A paused container stays paused (neither resumed nor killed) until the control plane resumes it.
      if (c.status === 'paused') this.#containers.recoveredPaused(c.id);
      // After a restart, a running agent has the token the control plane re-sends with startAgent. A paused
      // container runs the agent unless it was paused created (its first process still the runtime's init).
      if (c.status === 'running' || (c.status === 'paused' && processArgs(c.pid)[0] === AGENT_INIT)) {
        this.#containers.started(c.id, c.pid);
        // An armed agent (a fork's child that took a pooled container, not started yet) starts at startAgent.
        if (!this.#agents.recoveredArmed(c.id)) this.#agents.recovered(state.id, c.pid);
      }
    }
    for (const slot of frozenForClone) await rm(frozenMark(this.#slots.slotDir(slot)), { force: true });
    // Snapshots and archives a driver that stopped part-way left half-written.
    await this.#snapshots.recover();

    await this.#firewall.apply();
    this.#firewall.startRefresh();
    // Pool slots of a previous run are not adopted (their state is not worth trusting); they are remade.
    for (const slot of stalePool) await this.#containers.removeSlot(slot).catch(() => {});
    this.#opts.log.info(
      { workspaces: this.#slots.states.size, agents: this.#agents.count, subnet: this.#plan.cidr, table: this.#firewall.table },
      'sandbox driver ready',
    );
    this.#pool.fill();
  }

  /** A create that would make a disk is refused up front when the volume could not hold it (disk-reserve.ts). */
  async checkCapacity(spec: WorkspaceSpec): Promise<void> {
    const image = this.#slots.resolveImage(spec.image);
    if (image !== undefined && this.#pool.hasReady(image, spec.diskMb)) return;
    await this.#slots.checkReserve(spec.diskMb);
  }

  create(spec: WorkspaceSpec): Promise<void> {
    return this.#serial.run(spec.id, async () => {
      if (this.#slots.states.has(spec.id)) return;
      // Any image the store has (the control plane pulls one it lacks first); kept by id in the state.
      const image = this.#slots.imageId(spec.image);
      if (await this.#pool.adopt(spec, image)) return;
      // The firewall takes the workspace's rules (it has its address) while its disk and namespaces are made:
      // both are done before create returns, and its container (made by start) comes after both.
      let firewall: Promise<void> | undefined;
      try {
        await span('create: slot', () =>
          this.#slots.make(spec.id, spec.id, image, spec.diskMb, undefined, () => {
            firewall = span('create: firewall', () => this.#firewall.apply());
            firewall.catch(() => {});
          }),
        );
      } catch (err) {
        // The failed slot's rules go with it (it is out of the states once removed).
        if (firewall) await firewall.then(() => this.#firewall.apply()).catch(() => {});
        throw err;
      }
      await firewall;
      this.#madeHere.add(spec.id);
    });
  }

  start(spec: WorkspaceSpec): Promise<{ ip: string }> {
    return this.#serial.run(spec.id, async () => {
      const state = this.#slots.get(spec.id);
      // A container whose first process we know alive is up (adopted from the pool, or started here): no runtime call.
      if (this.#containers.livePid(state.slot) !== undefined) return { ip: state.ip };
      // A slot this driver made in `create` has had no container yet: no runtime call.
      const current = this.#madeHere.delete(state.slot) ? undefined : await this.#runtime.state(state.slot);
      // Up already; a paused one stays paused (resume thaws it).
      if (current?.status === 'created' || current?.status === 'running' || current?.status === 'paused') return { ip: state.ip };
      if (current) await this.#runtime.delete(state.slot, true);
      // A disk grown while it ran (online growth refused, or recorded with `apply: false`) grows before it mounts.
      await growDiskBeforeStart(this.#slots.layout(state.slot), spec.diskMb);
      await span('start: container', () => this.#containers.create(spec, state));
      return { ip: state.ip };
    });
  }

  /** Agents that die unasked (agent-watch.ts). */
  watch(listener: (event: WorkspaceDriverEvent) => void): () => void {
    return this.#watch.watch(listener);
  }

  /** Every workspace the driver has (whole: half-made ones were removed at open). */
  workspaceIds(): string[] {
    return [...this.#slots.states.keys()];
  }

  gatewayAddress(id: string): string | null {
    return this.#slots.states.has(id) ? this.#plan.hostAddress : null;
  }

  stop(id: string): Promise<void> {
    return this.#serial.run(id, async () => {
      const state = this.#slots.states.get(id);
      if (!state) return;
      this.#agents.forget(id);
      await this.#containers.kill(state.slot);
      await unmountRoot(this.#slots.layout(state.slot));
    });
  }

  /** Freezes the workspace's container (`runc pause`). Idempotent; fails when the workspace is not running. */
  pause(id: string): Promise<void> {
    return this.#serial.run(id, () => this.#containers.pause(this.#slots.get(id)));
  }

  /** Thaws the workspace's container (`runc resume`). Idempotent; fails when the workspace is not running. */
  resume(id: string): Promise<void> {
    return this.#serial.run(id, () => this.#containers.resume(this.#slots.get(id)));
  }

  async destroy(id: string): Promise<void> {
    await this.#serial.run(id, async () => {
      const state = this.#slots.states.get(id);
      this.#agents.forget(id);
      await this.#snapshots.forget(id);
      if (!state) return;
      this.#madeHere.delete(state.slot);
      await this.#containers.removeSlot(state);
      this.#slots.states.delete(id);
    });
    await this.#firewall.apply();
  }

  startAgent(id: string, token: string, _preferredPort?: number | null): Promise<AgentEndpoint> {
    return this.#serial.run(id, async () => {
      const endpoint = await span('startAgent', () => this.#agents.start(this.#slots.get(id), token));
      this.#watch.started(id);
      this.#pool.agentStarted();
      return endpoint;
    });
  }

  stopAgent(id: string): Promise<void> {
    return this.#serial.run(id, async () => {
      const state = this.#slots.states.get(id);
      if (!state) return;
      await this.#agents.stop(state);
    });
  }

  setAgentToken(id: string, token: string): Promise<void> {
    return this.#serial.run(id, () => this.#agents.setToken(this.#slots.get(id), token));
  }

  /**
   * Whether the agent serves the workspace's token (an adopted pool agent counts once startAgent gave it one).
   * True while the workspace is paused: its agent is alive and frozen, and answers again on resume.
   */
  agentRunning(id: string): boolean {
    return this.#agents.running(id);
  }

  async applyNetwork(id: string, network: ResolvedNetwork): Promise<void> {
    await this.#serial.run(id, async () => {
      const state = this.#slots.get(id);
      state.network = { ...network, privateLinks: network.privateLinks.map((l) => ({ ...l })) };
      await this.#slots.save(state);
    });
    // Its egress host names are resolved again now, whatever was known of them.
    await span('applyNetwork: firewall', () => this.#firewall.apply([id]));
  }

  /** The workspace's figures from the kernel (stats/): its cgroup, disk and link. Read at once, beside any lifecycle change. */
  async stats(id: string): Promise<WorkspaceStats> {
    const { slot } = this.#slots.get(id);
    const relative = `${this.#opts.cgroupParent ?? 'cove'}/${slot}`;
    return readSandboxStats({ cgroup: { relative }, diskMountPoint: this.#slots.layout(slot).mountPoint, hostLink: vethName(slot) });
  }

  /** CPUs and memory live on the running container (`runc update`), the disk grown (resize.ts). */
  resize(id: string, from: ResourceSizes, to: Partial<ResourceSizes>): Promise<ResizeResult> {
    const deps = {
      slots: this.#slots,
      containers: this.#containers,
      runtime: this.#runtime,
      cgroupParent: this.#opts.cgroupParent ?? 'cove',
    };
    return this.#serial.run(id, () => resizeSandbox(deps, this.#slots.get(id), from, to));
  }

  /** The agent's output (the container's stdout and stderr), on the workspace's disk beside its upper layer. */
  bootLogFile(id: string): string | undefined {
    const slot = this.#slots.states.get(id)?.slot;
    return slot === undefined ? undefined : this.#slots.logFile(slot);
  }

  /**
   * The running agent's control socket, reached through its container's root (/proc/<pid>/root): a short path,
   * wherever the data directory is, that follows the container's own mounts.
   */
  agentSocket(id: string): string | undefined {
    const slot = this.#slots.states.get(id)?.slot;
    if (slot === undefined || !this.#agents.running(id)) return undefined;
    const pid = this.#containers.livePid(slot);
    return pid === undefined ? undefined : `/proc/${pid}/root${AGENT_STATE_DIR}/agent.sock`;
  }

  /** The warm pools: per image and disk size (and the forks' per image), how many are ready, being made, wanted. */
  poolSizes(): ReturnType<WarmPool['sizes']> {
    return this.#pool.sizes();
  }

  /** Resolves once the pool is full (benchmarks and tests; creates never wait for it). */
  async poolReady(timeoutMs = 120_000): Promise<void> {
    await this.#pool.ready(timeoutMs);
  }

  async shutdown(): Promise<void> {
    this.#watch.close();
    this.#firewall.stopRefresh();
    await this.#pool.drain();
    await Promise.all([...this.#slots.states.keys()].map((id) => this.stop(id)));
  }

  /** Deletes every workspace and the firewall table, and gives up the subnet and table (tests, uninstall). */
  async destroyAll(): Promise<void> {
    this.#firewall.stopRefresh();
    await this.#pool.drain();
    for (const id of [...this.#slots.states.keys()]) await this.destroy(id);
    await this.#firewall.remove();
    await releaseNetwork(this.#opts.dataDir);
    await removeDiskPool(this.#opts.dataDir);
    await rmdir(this.#runtime.root).catch(() => {});
    await rmdir(this.#slots.rootsDir).catch(() => {});
    // The cgroup parent runc made, in every hierarchy (rmdir refuses while another instance still uses it).
    for (const dir of cgroupDirs(this.#opts.cgroupParent ?? 'cove')) await rmdir(dir).catch(() => {});
  }

  /** The workspace's address (for tests and tools). */
  addressOf(id: string): string | undefined {
    return this.#slots.states.get(id)?.ip;
  }

  /** Where the workspace's root file system is mounted on the host (tests and tools; mounted while it is up). */
  rootfsOf(id: string): string | undefined {
    const slot = this.#slots.states.get(id)?.slot;
    return slot === undefined ? undefined : this.#slots.layout(slot).rootfs;
  }

  /** The host ids of the workspace's user namespace (root inside is `base` on the host). */
  idRangeOf(id: string): IdRange | undefined {
    const range = this.#slots.states.get(id)?.idRange;
    return range && { ...range };
  }

  /** The name of the workspace's host-side resources (container, netns, veth, cgroup, directory). */
  slotOf(id: string): string | undefined {
    return this.#slots.states.get(id)?.slot;
  }
}
