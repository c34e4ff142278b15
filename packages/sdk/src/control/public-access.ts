import type { RequestOptions, Transport } from '../core/transport.js';

/** A port exposed at a public URL (the official SDK's `PublicAccessPort`, plus Cove's `auth` and `token`). */
export interface PublicAccessPort {
  port: number;
  /** `http://<slug>.<preview domain>:<gateway port>/`, served by the gateway by host name. */
  url?: string;
  slug?: string;
  /** The slug (the official SDK's name for it). */
  hash?: string;
  /** The preview domain the URL is under. */
  domain?: string;
  label?: string;
  /** `public`: the URL is enough; `token`: callers also pass the port's token (query `token`, header or cookie). */
  auth?: 'public' | 'token';
  /** The port's token: only in the answer of the expose that issued it (the control plane keeps only a hash). */
  token?: string;
  generation?: number;
  [key: string]: unknown;
}

export interface ExposePortParams {
  /** A port inside the workspace (1–65535, not the agent's 9990). */
  port: number;
  label?: string;
  /** A lowercase DNS label of 3–63 characters, unique on the control plane; generated when omitted. */
  slug?: string;
  /** The preview domain (only the configured one is served). */
  domain?: string;
  /** `token` issues a token the URL then requires; default `public`. */
  auth?: 'public' | 'token';
}

const path = (id: string, rest = '') => `/workspace/${encodeURIComponent(id)}/public-access${rest}`;

/**
 * Public URLs for a workspace's ports (`client.workspaces.publicAccess`): the gateway serves each exposed
 * port at `http://<slug>.<preview domain>:<gateway port>/`, HTTP and WebSockets alike.
 *
 * @example
 * const port = await client.workspaces.publicAccess.expose('ws_a1b2c3d4', { port: 3000, label: 'web' });
 * console.log(port.url); // http://3000-a1b2c3-x7k2q9.localhost:9080/
 * const secret = await client.workspaces.publicAccess.expose('ws_a1b2c3d4', { port: 8080, auth: 'token' });
 * await fetch(`${secret.url}?token=${secret.token}`);
 */
export class PublicAccess {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /**
   * The workspace's exposed ports.
   *
   * @example
   * for (const p of await client.workspaces.publicAccess.list('ws_a1b2c3d4')) console.log(p.port, p.url);
   */
  async list(id: string, request?: RequestOptions): Promise<PublicAccessPort[]> {
    const body = await this.#t.json<{ ports?: PublicAccessPort[] }>({ method: 'GET', path: path(id) }, request);
    return body.ports ?? [];
  }

  /**
   * Exposes a port (idempotent: on an exposed port, changes the slug, label or auth given). With
   * `auth: 'token'` the answer carries the port's token, once.
   *
   * @example
   * const { url } = await client.workspaces.publicAccess.expose('ws_a1b2c3d4', { port: 3000, slug: 'my-app' });
   */
  async expose(id: string, params: ExposePortParams, request?: RequestOptions): Promise<PublicAccessPort> {
    const body = await this.#t.json<{ port: PublicAccessPort }>({ method: 'POST', path: path(id), json: params }, request);
    return body.port;
  }

  /**
   * Gives an exposed port a new slug: the old URL stops answering and its open connections are cut.
   *
   * @example
   * await client.workspaces.publicAccess.updateSlug('ws_a1b2c3d4', 3000, { slug: 'new-name' });
   */
  async updateSlug(id: string, port: number, params: { slug: string }, request?: RequestOptions): Promise<PublicAccessPort> {
    const body = await this.#t.json<{ port: PublicAccessPort }>({ method: 'PATCH', path: path(id, `/${port}`), json: params }, request);
    return body.port;
  }

  /**
   * Revokes an exposed port: its URL stops answering at once.
   *
   * @example
   * await client.workspaces.publicAccess.revoke('ws_a1b2c3d4', 3000);
   */
  revoke(id: string, port: number, request?: RequestOptions): Promise<{ success: true; port: number; revoked: true }> {
    return this.#t.json({ method: 'DELETE', path: path(id, `/${port}`) }, request);
  }
}
