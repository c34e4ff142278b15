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
