// The contract between the control plane and the drivers that run workspaces (process, sandbox). It lives
// here so that a driver depends on the protocol, not on the control plane, and the control plane on no driver.
import type { ImageCatalog } from './images.js';
import type { WorkspaceStats } from './metrics.js';
import type { ResizeResult, ResourceSizes } from './resources.js';
import type { WorkspaceSnapshots } from './snapshots.js';

/** A workspace's network settings, in the control plane's (camelCase) shape. */
export interface NetworkSettings {
  publicAccess: boolean;
  allowInternet: boolean;
  /** Workspaces allowed to reach this one directly (ids; resolved to addresses when applied). */
  privateLinkIds: string[];
  /** Ports opened to inbound traffic (applied by drivers that have a firewall). */
  ingressPorts: number[];
  /** Outbound allow-list (host names or CIDRs); empty means no restriction beyond `allowInternet`. */
  egress: string[];
}

/** What a driver needs to know to run a workspace. */
export interface WorkspaceSpec {
  id: string;
  name: string;
  image: string;
  cpus: number;
  memoryMb: number;
  diskMb: number;
}

/** Where a workspace's agent serves the Internal API. */
export interface AgentEndpoint {
  ip: string;
  port: number;
}

/** Network settings with private links resolved to the peers' current addresses. */
export interface ResolvedNetwork extends NetworkSettings {
  privateLinks: Array<{ workspaceId: string; ip: string | null }>;
  /**
   * Ports exposed at public URLs. The gateway reaches them through the agent's `/proxy`, so while any is
   * listed the host must reach the agent's port, public access or not. Absent: none (states saved before).
   */
  exposedPorts?: number[];
}

/**
 * Something a driver saw happen to a workspace without being asked: its agent (or, in a sandbox, the container
 * whose first process the agent is) exited. `code`/`signal` as the process ended, null where unknown.
 */
export interface WorkspaceDriverEvent {
  type: 'agent-exited';
  workspaceId: string;
  code: number | null;
  signal: string | null;
}

/**
 * Runs workspaces on a host. The control plane keeps the desired state in
 * its store and tells the driver what to do; a driver keeps only what it
 * can rebuild from that (after a restart the control plane calls `start`
 * and `startAgent` again for workspaces that should run).
 *
 * `process` (`@cove/process-driver`) runs the agent as a local child process
 * (development, tests); the Linux `sandbox` driver (`@cove/sandbox`) runs
 * each workspace in its own namespaces with a private address, and applies
 * network settings as nftables rules.
 */
export interface WorkspaceDriver {
  readonly name: string;
  /** Whether `pause`/`resume` are real (frozen memory); without it they answer 409. */
  readonly canPause: boolean;
  /** Creates the workspace's persistent state (directories, root file system). */
  create(spec: WorkspaceSpec): Promise<void>;
  /**
   * Refuses (507 `insufficient_storage`) a workspace the host cannot hold now, before the control plane stores
   * anything of it: on a full volume the store could not remove the row of a create that failed later. A create
   * may still fail for want of space; absent where the driver has no such limit.
   */
  checkCapacity?(spec: WorkspaceSpec): Promise<void>;
  /**
   * Every workspace whose persistent state the driver has, whole (a driver opened after a crash has removed what
   * it found half-made). The control plane reconciles its store against it at start (reconcile.ts); absent where
   * the driver keeps nothing worth reconciling.
   */
  workspaceIds?(): string[];
  /** Boots the workspace; resolves to its private address. Idempotent. */
  start(spec: WorkspaceSpec): Promise<{ ip: string }>;
  /** The default route of the workspace's network (null where it has no network of its own). */
  gatewayAddress(id: string): string | null;
  /** Stops the workspace and everything in it (its agent included), paused or not. Idempotent. */
  stop(id: string): Promise<void>;
  /**
   * Freezes every process of the running workspace, memory kept: nothing in it runs (its agent answers
   * nothing) until `resume`. Idempotent. Only called when `canPause`.
   */
  pause(id: string): Promise<void>;
  /** Lets a paused workspace run on where it stopped. Idempotent. Only called when `canPause`. */
  resume(id: string): Promise<void>;
  /** Stops and deletes the workspace's state. */
  destroy(id: string): Promise<void>;
  /**
   * Starts the agent's Internal API server with `token`; if it already runs,
   * keeps it running (and makes `token` current). `preferredPort` keeps the
   * address stable across restarts when free.
   */
  startAgent(id: string, token: string, preferredPort?: number | null): Promise<AgentEndpoint>;
  /** Stops the agent's server: its sessions, tasks and connections end. Idempotent. */
  stopAgent(id: string): Promise<void>;
  /** Makes `token` the agent's only valid token; resolves once the agent refuses the old one. */
  setAgentToken(id: string, token: string): Promise<void>;
  /** Whether the agent's server is running now. */
  agentRunning(id: string): boolean;
  /** Applies network settings (the process driver has no firewall and only records them). */
  applyNetwork(id: string, network: ResolvedNetwork): Promise<void>;
  /** Stops every workspace this driver started (control-plane shutdown). */
  shutdown(): Promise<void>;
  /**
   * Reports what happens to workspaces unasked (an agent that dies, not one `stop`/`stopAgent` ended); returns
   * the unsubscribe. Optional: the control plane also checks `agentRunning` periodically, so a driver without
   * it is only slower to notice.
   */
  watch?(listener: (event: WorkspaceDriverEvent) => void): () => void;
  /** The driver's image store; absent where workspaces run on the host's own files (the process driver). */
  readonly images?: ImageCatalog;
  /**
   * The running (or paused) workspace's figures, read from the kernel; fails with `conflict` when it is stopped.
   * Absent where the driver cannot read any (the control plane then answers 409).
   */
  stats?(id: string): Promise<WorkspaceStats>;
  /**
   * The workspace's boot log on the host: its agent's output (in a sandbox, the container's stdout and stderr),
   * kept bounded by the driver; the control plane reads and clears it. Undefined when there is none yet.
   */
  bootLogFile?(id: string): string | undefined;
  /**
   * The host path of the Unix socket on which the workspace's running agent also serves its API: the control
   * plane's own channel to it (workloads, the command log), off the workspace's network and its firewall.
   * Undefined when the agent is not running; without the member, the control plane uses the agent's address.
   */
  agentSocket?(id: string): string | undefined;
  /** Snapshots, restore, versioned archives and forks; absent where the driver has none (the control plane answers 409). */
  readonly snapshots?: WorkspaceSnapshots;
  /**
   * Changes a workspace's sizes now, as far as the driver can (`to`: only those that change; `from`: what it has).
   * CPU and memory apply to a running workspace; a stopped one's take effect at its next `start` (whose spec
   * carries them). A disk only grows: online where the kernel allows it, else at the next `start`, which grows
   * a disk smaller than its spec's `diskMb`. Fails with `conflict` for what cannot be done (memory below what the
   * workspace holds, a smaller disk). Absent where the driver applies no limits (the control plane records them).
   */
  resize?(id: string, from: ResourceSizes, to: Partial<ResourceSizes>): Promise<ResizeResult>;
}
