import type { RequestOptions, Transport } from '../core/transport.js';

/** A workspace's metadata: string keys and values (at most 64 keys, 128-character keys, 2048-character values, 16 KiB in all). */
export type WorkspaceMetadata = Record<string, string>;

/** What `update` and `patch` answer: the metadata as it is now. */
export interface MetadataResult {
  success: true;
  workspace_id: string;
  metadata: WorkspaceMetadata;
  updated_at: string | null;
  [key: string]: unknown;
}

const path = (id: string) => `/workspace/${encodeURIComponent(id)}/metadata`;

/**
 * A workspace's metadata (`client.workspaces.metadata`): labels the control plane stores and never interprets.
 * Keys: a letter or digit, then letters, digits and `_ . - / :`.
 *
 * @example
 * await client.workspaces.metadata.update(id, { metadata: { env: 'prod', team: 'backend' } });
 * await client.workspaces.metadata.patch(id, { metadata: { version: '2', team: null } }); // null removes a key
 * const md = await client.workspaces.metadata.get(id); // { env: 'prod', version: '2' }
 */
export class Metadata {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** The metadata, as a plain map (`GET /workspace/:id/metadata`). */
  get(id: string, request?: RequestOptions): Promise<WorkspaceMetadata> {
    return this.#t.json({ method: 'GET', path: path(id) }, request);
  }

  /** Replaces the metadata: keys not named are removed, `{}` clears it (`PUT`). */
  update(id: string, params: { metadata: WorkspaceMetadata }, request?: RequestOptions): Promise<MetadataResult> {
    return this.#t.json({ method: 'PUT', path: path(id), json: params }, request);
  }

  /** Merges into the metadata: keys named are set, a null value removes its key, the others are kept (`PATCH`). */
  patch(id: string, params: { metadata: Record<string, string | null> }, request?: RequestOptions): Promise<MetadataResult> {
    return this.#t.json({ method: 'PATCH', path: path(id), json: params }, request);
  }
}
