import type { RequestBody, RequestOptions, Transport } from '../core/transport.js';

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

/** An uploaded archive: `from_archive: { upload_id }` in a create fills the new workspace from it, until `expires_at`. */
export interface ArchiveUpload {
  upload_id: string;
  /** What its first bytes say: `tar`, `tar.gz` or `tar.zst`. */
  format: string;
  size: number;
  sha256: string;
  created_at: string;
  expires_at: string;
  [key: string]: unknown;
}

/** Uploads have no time limit of their own: they take as long as the archive takes to send. */
const NO_TIMEOUT = 2_147_483_647;

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
 *
 * // On another Cove: upload the downloaded file, then create a workspace from it.
 * const upload = await other.workspaces.snapshots.uploadArchive('./ws-v1.tar.zst');
 * await other.workspaces.create({ name: 'copy', from_archive: { upload_id: upload.upload_id } });
 */
export class Snapshots {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** Takes the snapshot; `after`: `resume` (default: left running), `paused` or `stop`. */
  create(id: string, params: { after?: 'resume' | 'paused' | 'stop' } = {}, request?: RequestOptions) {
    return this.#t.json<Answer<{ snapshot: SnapshotInfo; after: string }>>(
      { method: 'POST', path: path(id, '/snapshot'), json: params },
      request,
    );
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
    return this.#t.json<Answer<{ deleted: number }>>(
      { method: 'DELETE', path: path(id, '/archives'), ...(query ? { query } : {}) },
      request,
    );
  }

  /**
   * Uploads an archive made elsewhere (one downloaded from another Cove, or any tar, tar.gz or tar.zst of a file
   * system): a path on this machine (a file; a directory is sent as a tar of its files; Node only) or a body
   * (bytes, a Blob, a stream). Its `upload_id` then goes in `create({ from_archive: { upload_id } })`, which
   * refuses hostile archives (names leaving the workspace, paths through its symlinks, devices) with a 400.
   */
  async uploadArchive(source: string | RequestBody, request: RequestOptions = {}): Promise<ArchiveUpload> {
    let body: RequestBody;
    if (typeof source === 'string') {
      const { archiveBody } = await import('./image-archive.js');
      body = (await archiveBody(source)).body;
    } else {
      body = source;
    }
    const res = await this.#t.json<{ upload: ArchiveUpload }>(
      { method: 'POST', path: '/workspace/archives/upload', body, headers: { 'content-type': 'application/octet-stream' } },
      { timeout: NO_TIMEOUT, ...request },
    );
    return res.upload;
  }

  /** An upload, while it is kept. */
  async getUpload(uploadId: string, request?: RequestOptions): Promise<ArchiveUpload> {
    return (
      await this.#t.json<{ upload: ArchiveUpload }>(
        { method: 'GET', path: `/workspace/archives/upload/${encodeURIComponent(uploadId)}` },
        request,
      )
    ).upload;
  }

  /** Deletes an upload before it expires. */
  deleteUpload(uploadId: string, request?: RequestOptions): Promise<Answer<{ deleted: true; upload: ArchiveUpload }>> {
    return this.#t.json({ method: 'DELETE', path: `/workspace/archives/upload/${encodeURIComponent(uploadId)}` }, request);
  }
}
