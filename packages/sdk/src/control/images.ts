import type { ImageProgress } from '@cove/protocol';
import { APIError, apiErrorFrom, ConnectionError } from '../core/errors.js';
import { lines } from '../core/lines.js';
import type { RequestBody, RequestOptions, Transport } from '../core/transport.js';

/** An image workspaces can be created from (the official SDK's catalog entry, plus Cove's store fields). */
export interface ImageInfo {
  /** `sha256:…` of the image config (builtin images: their name). */
  id: string;
  /** The reference to create a workspace with: `client.workspaces.create({ image })`. */
  image: string;
  label: string;
  desc: string;
  /** `os`, `runtime`, `database`, `infra`, `devtools` or `custom`. */
  category: string;
  /** The canonical reference (`docker.io/library/python:3.12-slim`). */
  name: string;
  references: string[];
  digest: string | null;
  source: 'builtin' | 'pulled' | 'imported' | 'built';
  /** Unpacked size in bytes (layers shared with other images counted once). */
  size: number;
  layers: number;
  created: string;
  config: { env: string[]; working_dir: string | null; user: string | null; entrypoint: string[] | null; cmd: string[] | null };
  [key: string]: unknown;
}

export interface ImageListParams {
  /** Text in the id, references, label or description (case-insensitive). */
  search?: string;
  /** A category id; `all` (or none) lists every one. */
  category?: string;
}

export interface ImageListResult {
  success: true;
  images: ImageInfo[];
  categories: Array<{ id: string; label: string }>;
}

/** A step of a pull, as the server streams it. */
export type { ImageProgress } from '@cove/protocol';

export interface PullImageOptions {
  /** Registry credentials (else the server's own, from its `~/.docker/config.json` or `auth.json`). */
  username?: string;
  password?: string;
  /** Plain HTTP or unverified TLS (registries on loopback get it without asking). */
  insecure?: boolean;
  /** Called with each step as the server reports it. */
  onProgress?: (progress: ImageProgress) => void;
}

export interface ImportImageOptions {
  /** The name to give the image (`NAME:TAG`); else the archive's own reference. */
  name?: string;
}

/** Pulls and imports take as long as they take: no timeout unless one is asked for. */
const NO_TIMEOUT = 2_147_483_647;

const imagePath = (reference: string) => `/workspace/images/${encodeURIComponent(reference)}`;

/**
 * The images workspaces are created from (`client.workspaces.images`): the host's image store, shared by
 * every account. Pulling and listing are open to every account; importing and removing need an operator
 * account.
 *
 * @example
 * const { images } = await client.workspaces.images.list({ category: 'runtime' });
 * await client.workspaces.images.pull('python:3.12-slim', { onProgress: (p) => console.log(p.message) });
 * const ws = await client.workspaces.create({ image: 'python:3.12-slim' });
 */
export class Images {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /**
   * The images, filtered (the official SDK's `images.list`).
   *
   * @example
   * const { images, categories } = await client.workspaces.images.list({ search: 'python' });
   */
  list(params: ImageListParams = {}, request?: RequestOptions): Promise<ImageListResult> {
    return this.#t.json({ method: 'GET', path: '/workspace/images', query: { search: params.search, category: params.category } }, request);
  }

  /**
   * One image by reference (`NotFoundError` when the store does not have it).
   *
   * @example
   * const image = await client.workspaces.images.get('python:3.12-slim');
   */
  async get(reference: string, request?: RequestOptions): Promise<ImageInfo> {
    const body = await this.#t.json<{ image: ImageInfo }>({ method: 'GET', path: imagePath(reference) }, request);
    return body.image;
  }

  /**
   * Pulls an image into the store (layers it has are not fetched again) and returns it once unpacked.
   *
   * @example
   * const image = await client.workspaces.images.pull('127.0.0.1:5000/team/base:1', {
   *   onProgress: (p) => console.log(p.phase, p.message),
   * });
   */
  async pull(reference: string, options: PullImageOptions = {}, request: RequestOptions = {}): Promise<ImageInfo> {
    const { onProgress, ...credentials } = options;
    // Always streamed: the answer starts at once, so a long pull is not mistaken for a dead server.
    const res = await this.#t.send(
      {
        method: 'POST',
        path: '/workspace/images/pull',
        json: { image: reference, ...credentials },
        headers: { accept: 'application/x-ndjson' },
      },
      { timeout: NO_TIMEOUT, ...request },
    );
    const requestId = res.headers.get('x-request-id') ?? undefined;
    if (!res.body) throw new APIError(res.status, 'invalid_response', 'the pull answered with no body', null, requestId);
    for await (const line of lines(res.body, request.signal)) {
      if (line.trim() === '') continue;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new APIError(res.status, 'invalid_response', `expected JSON lines, got: ${line.slice(0, 100)}`, line, requestId);
      }
      if (value.success === true) return value.image as ImageInfo;
      if (value.success === false) throw apiErrorFrom(typeof value.status === 'number' ? value.status : 500, value, requestId);
      onProgress?.(value as unknown as ImageProgress);
    }
    throw new ConnectionError('the pull stream ended before its result');
  }

  /**
   * Imports an image archive: a `docker save` tar or an OCI layout, as a path on this machine (a file, or
   * a directory sent as a tar; Node only) or as a body (bytes, a Blob, a stream). Operator accounts only.
   *
   * @example
   * const [image] = await client.workspaces.images.import('./app.tar', { name: 'app:1' });
   * await client.workspaces.images.import(await (await fetch(url)).blob(), { name: 'app:2' });
   */
  async import(source: string | RequestBody, options: ImportImageOptions = {}, request: RequestOptions = {}): Promise<ImageInfo[]> {
    let body: RequestBody;
    const headers: Record<string, string> = { 'content-type': 'application/x-tar' };
    if (typeof source === 'string') {
      const { archiveBody } = await import('./image-archive.js');
      body = (await archiveBody(source)).body;
    } else {
      body = source;
    }
    const res = await this.#t.json<{ images: ImageInfo[] }>(
      { method: 'POST', path: '/workspace/images/import', query: { name: options.name }, body, headers },
      { timeout: NO_TIMEOUT, ...request },
    );
    return res.images;
  }

  /**
   * Removes an image reference; its layers go once no image uses them. One a workspace uses is a
   * `ConflictError` unless `force`. Operator accounts only.
   *
   * @example
   * await client.workspaces.images.remove('python:3.12-slim');
   */
  remove(
    reference: string,
    options: { force?: boolean } = {},
    request?: RequestOptions,
  ): Promise<{ success: true; image: string; deleted: true }> {
    return this.#t.json({ method: 'DELETE', path: imagePath(reference), query: { force: options.force } }, request);
  }
}
