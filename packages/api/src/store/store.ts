import type { RouteSource } from '@cove/protocol';
import type {
  CredentialRecord,
  LifecycleRecord,
  MetadataRecord,
  PublicPortPatch,
  PublicPortRecord,
  WorkspacePatch,
  WorkspaceRecord,
  WorkspaceState,
} from './records.js';

export interface WorkspaceQuery {
  owner?: string;
  status?: WorkspaceState;
  limit?: number;
  offset?: number;
}

/**
 * Everything the control plane persists. Two implementations share one SQL
 * text: SQLite (embedded, the default) and PostgreSQL (several control
 * planes and gateways on one database). It is also the gateway's
 * `RouteSource`, so a gateway on the same database sees rotations at once.
 */
export interface Store extends RouteSource {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns the versions applied now. */
  migrate(): Promise<number[]>;
  close(): Promise<void>;

  /** A setting, created with `create()` if absent. Concurrent first calls agree on one value. */
  ensureSetting(key: string, create: () => string): Promise<string>;

  insertCredential(record: CredentialRecord): Promise<void>;
  getCredential(clientId: string): Promise<CredentialRecord | undefined>;
  listCredentials(): Promise<CredentialRecord[]>;
  /** Marks a credential revoked; false if unknown or already revoked. */
  revokeCredential(clientId: string, at: string): Promise<boolean>;

  /** Inserts a workspace; with an idempotency key already used by the owner, returns that workspace instead. */
  insertWorkspace(record: WorkspaceRecord): Promise<{ record: WorkspaceRecord; created: boolean }>;
  getWorkspace(id: string): Promise<WorkspaceRecord | undefined>;
  listWorkspaces(query?: WorkspaceQuery): Promise<{ items: WorkspaceRecord[]; total: number }>;
  updateWorkspace(id: string, patch: WorkspacePatch): Promise<WorkspaceRecord | undefined>;
  /** Atomically increments the token generation (revoking every JWT issued before) and applies `patch`. */
  bumpGeneration(id: string, patch?: WorkspacePatch): Promise<WorkspaceRecord | undefined>;
  /** Deletes the workspace and its exposed ports. */
  deleteWorkspace(id: string): Promise<boolean>;

  /** The workspace's exposed ports, by port. */
  listPublicPorts(workspaceId: string): Promise<PublicPortRecord[]>;
  /** Exposes a port under a fresh generation; `slug_taken`/`port_taken` when a unique key is in use (races included). */
  insertPublicPort(record: Omit<PublicPortRecord, 'generation'>): Promise<PublicPortRecord | 'slug_taken' | 'port_taken'>;
  /** Changes an exposed port (a new generation with `bump`); undefined when it is not exposed. */
  updatePublicPort(
    workspaceId: string,
    port: number,
    patch: PublicPortPatch,
    bump: boolean,
  ): Promise<PublicPortRecord | 'slug_taken' | undefined>;
  /** Revokes an exposed port; false when it was not exposed. */
  deletePublicPort(workspaceId: string, port: number): Promise<boolean>;

  /** The workspace's lifecycle row, or undefined when it has the defaults (never written). */
  getLifecycle(workspaceId: string): Promise<LifecycleRecord | undefined>;
  /** Every lifecycle row (the scheduler's state at start). */
  listLifecycles(): Promise<LifecycleRecord[]>;
  /** Writes the whole row (insert or replace). deleteWorkspace removes it with its workspace. */
  putLifecycle(record: LifecycleRecord): Promise<void>;

  /** The workspace's metadata; version 0 and no entries when it has none. */
  getMetadata(workspaceId: string): Promise<MetadataRecord>;
  /**
   * Replaces the workspace's metadata if its version is still `expectedVersion` (compare-and-set); undefined when
   * another write came first (read again and retry) or the workspace is gone. deleteWorkspace removes it.
   */
  putMetadata(workspaceId: string, entries: Record<string, string>, expectedVersion: number): Promise<MetadataRecord | undefined>;
}
