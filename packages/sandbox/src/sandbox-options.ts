// The sandbox driver's options: where it keeps its data, its runtime, subnet, firewall table, limits and warm pool.
import type { Logger } from 'pino';
import type { AgentFiles } from './agent-files.js';
import type { EgressLookup } from './egress.js';

export interface SandboxDriverOptions {
  /** Holds `workspaces/<id>/` (disk image, bundle, token). */
  dataDir: string;
  log: Logger;
  /** Image cache (default `/var/cache/cove/images`, `SERVER_DEFAULTS.imagesDir`): shared between data dirs to build images once. */
  imagesDir?: string;
  /** The OCI runtime: a binary, then any global flags (default `runc`; see runtimes.ts for crun and runsc). */
  runtime?: string;
  /** The runtime's state directory (default `/run/cove/<hash of dataDir>`). */
  runtimeRoot?: string;
  /**
   * The workspaces' private subnet; the first address is the host side. Default: the one this data directory
   * recorded, else 10.88.0.0/16 for a data directory with workspaces of an earlier version, else a free /16 of
   * 10.64.0.0/10 derived from the data directory. Refused when another Cove instance or a host route has it.
   */
  subnet?: string;
  /**
   * The nftables table (family inet) this driver owns. Default: the recorded one, else `cove` for a data
   * directory of an earlier version, else `cove_<hash of the data directory>`. Refused when another instance has it.
   */
  nftTable?: string;
  /**
   * The claim on the subnet and table lasts only while this process runs (tests, benchmarks: a crashed run's
   * claim then blocks no later run). Default false: a claim outlives its process, a stopped instance keeps its network.
   */
  ephemeralNetwork?: boolean;
  /** cgroup parent of the workspaces (default `cove`). */
  cgroupParent?: string;
  /**
   * Allow disks whose sizes together exceed what the data volume can hold (default false: a create that would
   * overcommit it is refused with 507; see disk-reserve.ts). Overcommitted, writes of a workspace may be lost
   * at writeback once the volume is full.
   */
  diskOvercommit?: boolean;
  /** Process-count limit per workspace (default 4096). */
  pidsLimit?: number;
  /** The Internal API port inside each workspace (default 9990). */
  agentPort?: number;
  /** How long stop waits after SIGTERM before SIGKILL (default 5000 ms). */
  stopTimeoutMs?: number;
  /** How long an agent may take to listen (default 60 s). */
  startTimeoutMs?: number;
  debianMirror?: string;
  /**
   * Resolves the host names of egress allow-lists to IPv4 addresses (default: node:dns `lookup`, IPv4 only).
   * A name that does not resolve allows no address.
   */
  egressLookup?: EgressLookup;
  /** How often those host names are resolved again, the table following their answers (default 60 s). */
  egressRefreshMs?: number;
  agentFiles?: AgentFiles;
  /**
   * Workspaces kept ready (disk, overlay, network, container and a running
   * agent) for creates that match them: a create then only adopts one, sets
   * its limits and token, instead of paying for a cold agent start.
   */
  warmPool?: WarmPoolOptions;
}

export interface WarmPoolOptions {
  /** Ready workspaces of the default image and disk size kept at all times (more while demand is higher). */
  size: number;
  /** The default image and disk size (what a create that names neither gets). */
  image: string;
  diskMb: number;
  /**
   * Most pooled workspaces over every image and size, ready and being made (default 32), and the memory they
   * may hold (default an eighth of the host's; an idle pooled workspace counts as 40 MiB): the pools grow to
   * recent demand within both. Creates waiting for a slot are served whatever the bound.
   */
  maxSize?: number;
  memoryMb?: number;
  /** How long a create counts as recent demand (default 10 minutes). */
  demandWindowMs?: number;
  /** Creates of another image or disk size within the window that give it a pool of its own (default 3). */
  otherImagesAfter?: number;
  /** Workspaces made at once by the refill (default: the CPUs, plus one). */
  concurrency?: number;
}
