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
  Pick<WorkspaceRecord, 'name' | 'status' | 'ip' | 'port' | 'accessEnabled' | 'rawToken' | 'tokenExpiresAt' | 'lastPingAt' | 'network'>
>;

export interface CredentialRecord {
  clientId: string;
  /** `sha256:<hex>` of the secret (secrets are 256-bit random, so a fast hash suffices). */
  secretHash: string;
  owner: string;
  label: string;
  createdAt: string;
  revokedAt: string | null;
}
