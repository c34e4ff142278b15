import { createHash } from 'node:crypto';
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
}

/** What the driver keeps per workspace (`state.json`), enough to rebuild everything after a restart. */
interface WorkspaceState {
  id: string;
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
    for (const entry of await readdir(this.#workspacesDir())) {
      const state = await readFile(path.join(this.#workspacesDir(), entry, 'state.json'), 'utf8')
        .then((t) => JSON.parse(t) as WorkspaceState)
        .catch(() => undefined);
      if (state && state.id === entry) this.#states.set(entry, state);
    }
    for (const c of await this.#runtime.list()) {
      if (c.status === 'running' && this.#states.has(c.id)) this.#agentPids.set(c.id, c.pid);
    }
    await this.#applyFirewall();
    this.#opts.log.info({ workspaces: this.#states.size, agents: this.#agentPids.size, subnet: this.#plan.cidr }, 'sandbox driver ready');
  }

  #workspacesDir(): string {
    return path.join(this.#opts.dataDir, 'workspaces');
  }

  #dir(id: string): string {
    return path.join(this.#workspacesDir(), id);
  }

  #layout(id: string): DiskLayout {
    return diskLayout(this.#dir(id));
  }

  #state(id: string): WorkspaceState {
    const state = this.#states.get(id);
    if (!state) throw new AppError('not_found', `the sandbox driver has no workspace '${id}'`);
    return state;
  }

  async #saveState(state: WorkspaceState): Promise<void> {
    const file = path.join(this.#dir(state.id), 'state.json');
    await writeFile(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  #imageName(image: string): string {
    const name = this.#images.resolve(image);
    if (!name) throw new AppError('bad_request', `invalid parameter 'image': unknown image '${image}' (known: host, debian:12)`);
    return name;
  }

  create(spec: WorkspaceSpec): Promise<void> {
    return this.#serial.run(spec.id, async () => {
      if (this.#states.has(spec.id)) return;
      const image = this.#imageName(spec.image);
      await this.#images.ensure(image);
      const dir = this.#dir(spec.id);
      await mkdir(dir, { recursive: false, mode: 0o700 });
      await mkdir(path.join(dir, 'token'), { mode: 0o700 });
      await createDisk(this.#layout(spec.id), spec.diskMb);
      const state = await this.#global.run('ip', async () => {
        const used = new Set([...this.#states.values()].map((s) => s.ip));
        const s: WorkspaceState = { id: spec.id, ip: this.#plan.allocate(used), image, network: DEFAULT_NETWORK };
        this.#states.set(spec.id, s);
        return s;
      });
      await this.#saveState(state);
      // The namespace, link and rules are made now so that start does not pay for them.
      await ensureNetwork(spec.id, state.ip, this.#plan.hostAddress);
      await this.#applyFirewall();
      // The overlay is prepared now too: start only creates the container.
      await mountRoot(this.#layout(spec.id), (await this.#images.ensure(image)).rootfs);
    });
  }

  start(spec: WorkspaceSpec): Promise<{ ip: string }> {
    return this.#serial.run(spec.id, async () => {
      const state = this.#state(spec.id);
      const current = await this.#runtime.state(spec.id);
      if (current?.status === 'created' || current?.status === 'running') return { ip: state.ip };
      if (current) await this.#runtime.delete(spec.id, true);
      await this.#createContainer(spec, state);
      return { ip: state.ip };
    });
  }

  async #createContainer(spec: WorkspaceSpec, state: WorkspaceState): Promise<void> {
    const image = await this.#images.ensure(state.image);
    const dir = this.#dir(spec.id);
    await mountRoot(this.#layout(spec.id), image.rootfs);
    await ensureNetwork(spec.id, state.ip, this.#plan.hostAddress);
    await writeFile(path.join(dir, 'resolv.conf'), await resolvConf());
    const config = ociConfig({
      id: spec.id,
      rootfs: this.#layout(spec.id).rootfs,
      hostname: spec.id.replace(/_/g, '-'),
      args: agentArgs(this.#agentPort, WORKDIR, `${TOKEN_DIR}/token`),
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOME=${WORKDIR}`, 'LANG=C.UTF-8', 'TERM=xterm-256color'],
      cwd: WORKDIR,
      netnsPath: netnsPath(spec.id),
      cgroupsPath: `/${this.#opts.cgroupParent ?? 'cove'}/${spec.id}`,
      cpus: spec.cpus,
      memoryMb: spec.memoryMb,
      pidsLimit: this.#opts.pidsLimit ?? 4096,
      binds: [
        ...image.hostBinds.map((b) => ({ ...b, readonly: true })),
        ...agentBinds(this.#agentFiles),
        // The directory, not the file: a rewritten (renamed-over) token file is visible inside.
        { source: path.join(dir, 'token'), destination: TOKEN_DIR, readonly: true },
        { source: path.join(dir, 'resolv.conf'), destination: '/etc/resolv.conf', readonly: true },
      ],
    });
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
    const logFile = path.join(dir, 'agent.log');
    // The log is kept small: each container starts a fresh one once it passes 1 MiB.
    if (((await stat(logFile).catch(() => undefined))?.size ?? 0) > 1024 * 1024) await rm(logFile, { force: true });
    const log = await open(logFile, 'a', 0o600);
    try {
      await this.#runtime.create(spec.id, dir, log.fd);
    } finally {
      await log.close();
    }
  }

  gatewayAddress(id: string): string | null {
    return this.#states.has(id) ? this.#plan.hostAddress : null;
  }

  stop(id: string): Promise<void> {
    return this.#serial.run(id, async () => {
      if (!this.#states.has(id)) return;
      await this.#killContainer(id);
      await unmountRoot(this.#layout(id));
    });
  }

  /** Stops the container: SIGTERM to the agent (tini forwards it), then SIGKILL to every process in it. */
  async #killContainer(id: string): Promise<void> {
    this.#agentPids.delete(id);
    const current = await this.#runtime.state(id);
    if (!current) return;
    if (current.status === 'running') {
      await this.#runtime.kill(id, 'TERM');
      const deadline = Date.now() + (this.#opts.stopTimeoutMs ?? 5000);
      while (Date.now() < deadline && (await this.#runtime.state(id))?.status === 'running') await delay(20);
    }
    await this.#runtime.kill(id, 'KILL', true);
    await this.#runtime.delete(id, true);
  }

  async destroy(id: string): Promise<void> {
    await this.#serial.run(id, async () => {
      await this.#killContainer(id);
      await removeNetwork(id);
      await removeDisk(this.#layout(id));
      await rm(this.#dir(id), { recursive: true, force: true });
      this.#states.delete(id);
    });
    await this.#applyFirewall();
  }

  startAgent(id: string, token: string, _preferredPort?: number | null): Promise<AgentEndpoint> {
    return this.#serial.run(id, async () => {
      const state = this.#state(id);
      await this.#writeToken(id, token);
      const current = await this.#runtime.state(id);
      if (current?.status === 'running' && this.#agentPids.has(id)) {
        await this.#signalToken(id);
        return { ip: state.ip, port: this.#agentPort };
      }
      if (current?.status !== 'created') {
        // The agent exited (or the container is gone): a fresh container from the same bundle.
        if (current) await this.#runtime.delete(id, true);
        await this.#recreate(id);
      }
      const created = await this.#runtime.state(id);
      if (!created) throw new AppError('failed_to_start', 'the workspace container is missing');
      const offset = await logOffset(this.#logFile(id));
      await this.#runtime.start(id);
      await this.#waitReady(id, created.pid, offset);
      this.#agentPids.set(id, created.pid);
      this.#opts.log.info({ workspace: id, ip: state.ip }, 'agent started');
      return { ip: state.ip, port: this.#agentPort };
    });
  }

  /** Creates the container again from its bundle (config.json written by start). */
  async #recreate(id: string): Promise<void> {
    const state = this.#state(id);
    const image = await this.#images.ensure(state.image);
    await mountRoot(this.#layout(id), image.rootfs);
    await ensureNetwork(id, state.ip, this.#plan.hostAddress);
    const log = await open(this.#logFile(id), 'a', 0o600);
    try {
      await this.#runtime.create(id, this.#dir(id), log.fd);
    } finally {
      await log.close();
    }
  }

  #logFile(id: string): string {
    return path.join(this.#dir(id), 'agent.log');
  }

  /**
   * Waits for the agent's ready line, which it prints once it listens and in
   * the same tick as it installs its SIGHUP handler (so a token rotation
   * right after never kills it).
   */
  async #waitReady(id: string, pid: number, offset: number): Promise<void> {
    const found = await waitForLog(this.#logFile(id), offset, ['cove agent ready on'], this.#opts.startTimeoutMs ?? 60_000, () =>
      processAlive(pid),
    );
    if (found === 0) return;
    const tail = (await readFile(this.#logFile(id), 'utf8').catch(() => '')).slice(offset).trim().split('\n').pop() ?? '';
    await this.#runtime.kill(id, 'KILL', true);
    await this.#runtime.delete(id, true);
    await this.#recreate(id).catch(() => {});
    throw new AppError('failed_to_start', `the workspace agent did not start: ${tail.slice(0, 300) || 'no output'}`);
  }

  stopAgent(id: string): Promise<void> {
    return this.#serial.run(id, async () => {
      if (!this.#agentPids.has(id)) return;
      await this.#killContainer(id);
      // The workspace stays up (namespaces, address, mounts) without its agent.
      await this.#recreate(id);
    });
  }

  setAgentToken(id: string, token: string): Promise<void> {
    return this.#serial.run(id, async () => {
      await this.#writeToken(id, token);
      if (this.agentRunning(id)) await this.#signalToken(id);
    });
  }

  agentRunning(id: string): boolean {
    const pid = this.#agentPids.get(id);
    return pid !== undefined && processAlive(pid);
  }

  async #writeToken(id: string, token: string): Promise<void> {
    const file = path.join(this.#dir(id), 'token', 'token');
    await writeFile(`${file}.tmp`, `${token}\n`, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  /** SIGHUP to the agent (through tini), then waits for its log to confirm the reload. */
  async #signalToken(id: string): Promise<void> {
    const offset = await logOffset(this.#logFile(id));
    if (!(await this.#runtime.kill(id, 'HUP'))) throw new AppError('service_unavailable', 'the workspace agent is not running');
    const found = await waitForLog(this.#logFile(id), offset, ['token reloaded', 'token reload failed'], 10_000, () =>
      this.agentRunning(id),
    );
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

  /** Re-renders and replaces the whole table (atomic; live when nft returns). */
  #applyFirewall(): Promise<void> {
    return this.#global.run('firewall', async () => {
      const entries: FirewallEntry[] = [...this.#states.values()].map((s) => ({
        id: s.id,
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

  async shutdown(): Promise<void> {
    await Promise.all([...this.#states.keys()].map((id) => this.stop(id)));
  }

  /** Deletes every workspace and the firewall table (tests, uninstall). */
  async destroyAll(): Promise<void> {
    for (const id of [...this.#states.keys()]) await this.destroy(id);
    await this.#global.run('firewall', () => removeTable(this.#table));
    await rmdir(this.#runtime.root).catch(() => {});
  }

  /** The workspace's address (for tests and tools). */
  addressOf(id: string): string | undefined {
    return this.#states.get(id)?.ip;
  }
}

/** The host's resolvers without loopback ones (unreachable from a workspace's namespace). */
async function resolvConf(): Promise<string> {
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const lines = host.split('\n').filter((l) => /^(nameserver|search|options)\s/.test(l) && !/^nameserver\s+(127\.|::1)/.test(l));
  if (!lines.some((l) => l.startsWith('nameserver'))) lines.push('nameserver 1.1.1.1');
  return `${lines.join('\n')}\n`;
}
