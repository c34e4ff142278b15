/**
 * The defaults every entry point shares: the CLI (`cove up`, `cove api`,
 * `cove gateway`, the user commands), the control plane, the sandbox driver
 * and the agent read them from here, so that no two of them disagree. This
 * file imports nothing (no schemas, no Node modules): clients that must start
 * fast load it alone as `@cove/protocol/defaults`.
 */

/** What a workspace gets when a create does not say (the sandbox's warm pool is built to match). */
export const WORKSPACE_DEFAULTS = {
  image: 'debian:12',
  cpus: 1,
  memoryMb: 1024,
  diskMb: 4096,
} as const;

/** The servers' defaults. `cove up`, `cove api` and `cove gateway` listen where the user commands look. */
export const SERVER_DEFAULTS = {
  /** The control plane's address. */
  apiListen: '127.0.0.1:9070',
  /** The gateway's address. */
  gatewayListen: '127.0.0.1:9080',
  /**
   * The domain public port URLs live under (`http://<slug>.<preview domain>:<gateway port>/`): `localhost`,
   * because browsers and curl resolve every `*.localhost` name to the loopback address.
   */
  previewDomain: 'localhost',
  /** The agent's address inside a workspace. */
  agentListen: '0.0.0.0:9990',
  /** The agent's port inside a workspace (what drivers connect to). */
  agentPort: 9990,
  /** The agent's working directory for relative paths and commands. */
  agentWorkdir: '/root',
  /** The data directory, relative to the home directory (`~/.cove`). */
  dataDirName: '.cove',
  /** `auto` picks the sandbox driver where it can run (root on Linux with an OCI runtime), else `process`. */
  driver: 'auto',
  /** The control plane's store: `sqlite` (embedded, in the data directory) or `postgres`. */
  store: 'sqlite',
  /** The sandbox driver's OCI runtime. */
  runtime: 'runc',
  /** The sandbox driver's image cache, shared by every data directory so that images are built once. */
  imagesDir: '/var/cache/cove/images',
  /** Sandbox workspaces kept ready with the default image and disk: `auto` is `autoWarmPool` of the host's memory. */
  warmPool: 'auto',
  /** Workspaces each account may have. */
  maxWorkspaces: 100,
  /** How long the gateway waits to connect to an agent before answering 504. */
  gatewayConnectTimeoutMs: 5_000,
  /** How long the gateway waits for an agent's response headers before answering 504. */
  gatewayHeadersTimeoutMs: 300_000,
} as const;

/**
 * The default warm pool of a host: one ready workspace per 3 GiB of memory, 1 to 8. An idle pooled workspace
 * holds ~20 MiB (8 of them: 0.7% of a 24 GiB host) and no CPU, and a burst of creates larger than the pool waits
 * on workspaces made from nothing at the rate the host's CPUs allow, so a host with room keeps more ready;
 * demand grows the pool further (the sandbox driver's `warm-pool.ts`).
 */
export function autoWarmPool(totalMemoryBytes: number): number {
  return Math.min(8, Math.max(1, Math.floor(totalMemoryBytes / (3 * 2 ** 30))));
}
