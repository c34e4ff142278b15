import type { RequestOptions, Transport } from '../core/transport.js';

const path = (id: string, rest: string) => `/workspace/${encodeURIComponent(id)}${rest}`;

/** A snapshot as answers describe it: the file system only (`memory` is always false, `memory_reason` says why). */
export interface SnapshotInfo {
  workspace_id: string;
  created_at: string;
  size_bytes: number;
  memory: false;
  memory_reason: string;
  [key: string]: unknown;
}

export interface ArchiveInfo {
  version: string;
  workspace_id: string;
  format: 'tar.zst' | 'tar.gz';
  size: number;
  sha256: string;
  created_at: string;
  vm_paths: string[];
  exclude_vm_paths: string[];
  image: string;
  download_path: string;
  [key: string]: unknown;
}

export interface ArchiveCreateParams {
  /** Letters, digits, `.`, `_`, `-` (default: the time). */
  version?: string;
  /** `tar.zst` (default) or `tar.gz`. */
  format?: string;
  /** Absolute paths inside the workspace (default: the whole file system). */
  vm_paths?: string[];
  exclude_vm_paths?: string[];
}

type Answer<T> = { success: true } & T & { [key: string]: unknown };

/**
 * Snapshots and versioned archives (`client.workspaces.snapshots`, as the official SDK has them). A snapshot is
 * the whole file system at one instant (the workspace is frozen while it is taken); memory is not in it, so a
 * restore restarts what ran.
 *
 * @example
 * await client.workspaces.snapshots.create(id);                  // then change things…
 * await client.workspaces.snapshots.restore(id);                 // …and go back
 * const a = await client.workspaces.snapshots.createArchive(id, { version: 'v1', vm_paths: ['/root/app'] });
 * const bytes = await client.workspaces.snapshots.downloadArchive(id, 'v1');
 */
export class Snapshots {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** Takes the snapshot; `after`: `resume` (default: left running), `paused` or `stop`. */
  create(id: string, params: { after?: 'resume' | 'paused' | 'stop' } = {}, request?: RequestOptions) {
    return this.#t.json<Answer<{ snapshot: SnapshotInfo; after: string }>>({ method: 'POST', path: path(id, '/snapshot'), json: params }, request);
  }

  /** The snapshot `restore` would bring back (null: none). */
  async latest(id: string, request?: RequestOptions): Promise<SnapshotInfo | null> {
    return (await this.#t.json<{ snapshot: SnapshotInfo | null }>({ method: 'GET', path: path(id, '/snapshot') }, request)).snapshot;
  }

  /** Brings the file system back to the latest snapshot; a running workspace is restarted. */
  restore(id: string, request?: RequestOptions) {
    return this.#t.json<Answer<{ restored: true; snapshot: SnapshotInfo }>>({ method: 'POST', path: path(id, '/restore') }, request);
  }

  createArchive(id: string, params: ArchiveCreateParams = {}, request?: RequestOptions): Promise<Answer<ArchiveInfo>> {
    return this.#t.json({ method: 'POST', path: path(id, '/archives'), json: params }, request);
  }

  async listArchives(id: string, request?: RequestOptions): Promise<ArchiveInfo[]> {
    return (await this.#t.json<{ archives?: ArchiveInfo[] }>({ method: 'GET', path: path(id, '/archives') }, request)).archives ?? [];
  }

  getArchive(id: string, version: string, request?: RequestOptions): Promise<Answer<ArchiveInfo>> {
    return this.#t.json({ method: 'GET', path: path(id, `/archives/${encodeURIComponent(version)}`) }, request);
  }

  /** The archive's bytes (a Response: `.body` streams it, `.arrayBuffer()` reads it whole). */
  downloadArchive(id: string, version: string, request?: RequestOptions): Promise<Response> {
    return this.#t.send({ method: 'GET', path: path(id, `/archives/${encodeURIComponent(version)}/download`) }, request);
  }

  /** Unlists the archive; `delete_file` removes its file too (else it stays until the workspace is deleted). */
  deleteArchive(id: string, version: string, params: { delete_file?: boolean } = {}, request?: RequestOptions) {
    const query = params.delete_file ? { delete_file: 'true' } : undefined;
    return this.#t.json<Answer<{ deleted: true }>>(
      { method: 'DELETE', path: path(id, `/archives/${encodeURIComponent(version)}`), ...(query ? { query } : {}) },
      request,
    );
  }

  deleteAllArchives(id: string, params: { delete_files?: boolean } = {}, request?: RequestOptions) {
    const query = params.delete_files ? { delete_files: 'true' } : undefined;
    return this.#t.json<Answer<{ deleted: number }>>({ method: 'DELETE', path: path(id, '/archives'), ...(query ? { query } : {}) }, request);
  }
}
