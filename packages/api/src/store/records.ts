// What the control plane stores, in its own (camelCase) shape.
import type { NetworkSettings } from '@cove/protocol';

/** `paused`: every process frozen in place (memory kept) until resumed. */
export type WorkspaceState = 'running' | 'stopped' | 'paused';

export interface WorkspaceRecord {
  id: string;
  /** The account the workspace belongs to; every credential of that account sees it. */
  owner: string;
  name: string;
  image: string;
  cpus: number;
  memoryMb: number;
  diskMb: number;
  /** Desired state: what the control plane restores after a restart. */
  status: WorkspaceState;
  /** The agent's address while its server runs. */
  ip: string | null;
  port: number | null;
  accessEnabled: boolean;
  /** The agent's raw bearer token. Kept readable: the gateway sends it upstream and `token/raw` returns it. */
  rawToken: string | null;
  generation: number;
  tokenExpiresAt: string | null;
  network: NetworkSettings;
  idempotencyKey: string | null;
  lastPingAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Fields that may change after creation. */
export type WorkspacePatch = Partial<
  Pick<
    WorkspaceRecord,
    | 'name'
    | 'status'
    | 'ip'
    | 'port'
    | 'accessEnabled'
    | 'rawToken'
    | 'tokenExpiresAt'
    | 'lastPingAt'
    | 'network'
    | 'cpus'
    | 'memoryMb'
    | 'diskMb'
  >
>;

/** A workspace's metadata (string keys and values) and the version every change compares and sets. */
export interface MetadataRecord {
  workspaceId: string;
  entries: Record<string, string>;
  /** 0: never written (no row); each write adds one. */
  version: number;
  updatedAt: string | null;
}

export interface CredentialRecord {
  clientId: string;
  /** `sha256:<hex>` of the secret (secrets are 256-bit random, so a fast hash suffices). */
  secretHash: string;
  owner: string;
  label: string;
  createdAt: string;
  revokedAt: string | null;
}

/** A workspace port exposed at a public URL (`http://<slug>.<preview domain>/`). */
export interface PublicPortRecord {
  workspaceId: string;
  port: number;
  /** The host-name label, unique across the store. */
  slug: string;
  label: string | null;
  auth: 'public' | 'token';
  /** SHA-256 hex of the port's token (auth `token`); the token itself is shown once, at expose. */
  tokenSha256: string | null;
  /** Changes with every slug or auth change (store-wide counter): the gateway cuts connections of another one. */
  generation: number;
  createdAt: string;
  updatedAt: string;
}

/** What an expose may change on an exposed port. */
export type PublicPortPatch = Partial<Pick<PublicPortRecord, 'slug' | 'label' | 'auth' | 'tokenSha256'>>;

/** Who or what put a workspace in its current not-running state. */
export type StoppedBy = 'user' | 'ttl' | 'idle' | 'failure';

/** One line of a workspace's lifecycle history (kept short: the latest few). */
export interface LifecycleEventRecord {
  at: string;
  type: string;
  action?: string;
  detail?: string;
}

/**
 * A workspace's lifecycle: its mode and policies, and the state the scheduler needs to carry across a
 * restart of the control plane (deadlines are derived from these times, never kept in timers alone).
 * Workspaces without a row have the defaults (`defaultLifecycle`).
 */
export interface LifecycleRecord {
  workspaceId: string;
  mode: 'permanent' | 'temporary';
  ttlSeconds: number | null;
  ttlAction: 'stop' | 'pause' | 'suspend' | 'remove';
  /** When the TTL runs out (temporary workspaces); renewed by ping, updateTtl, and a start after it ran out. */
  expiresAt: string | null;
  removeOnExit: boolean;
  /** Idle policy: suspend after this many seconds without activity (null: no policy). */
  idleSuspendAfter: number | null;
  /** …then stop after this many more seconds suspended (null or 0: stay suspended). */
  idleStopAfter: number | null;
  restartPolicy: 'never' | 'on-failure' | 'always';
  /** 0: no limit. */
  maxRestarts: number;
  restartCount: number;
  lastRestartAt: string | null;
  /** The last activity known (start, ping, wake, or what the agent reported); not written per request. */
  lastActivityAt: string | null;
  /** When a policy suspended (paused) it: where `idleStopAfter` counts from. */
  suspendedAt: string | null;
  stoppedBy: StoppedBy | null;
  /** A request through the gateway may start it (stopped by a policy, not by a user). Paused ones always may. */
  wakeOnTraffic: boolean;
  /** When it last started (uptime). */
  startedAt: string | null;
  events: LifecycleEventRecord[];
  createdAt: string;
  updatedAt: string;
}
