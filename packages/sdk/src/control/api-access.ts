import type { RequestOptions, Transport } from '../core/transport.js';

export interface AccessToken {
  success: true;
  /** A gateway JWT. */
  token: string;
  enabled?: boolean;
  expires_at?: string;
  [key: string]: unknown;
}

const base = (id: string) => `/workspace/${encodeURIComponent(id)}/internal-api-access`;

/**
 * A workspace's Internal API server and its tokens (`client.workspaces.apiAccess`).
 *
 * @example
 * const access = await client.workspaces.apiAccess.enable('ws_a1b2c3d4');
 * console.log(access.token, access.enabled);
 * const raw = await client.workspaces.apiAccess.rawToken('ws_a1b2c3d4'); // { token, ip, port }
 */
export class ApiAccess {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** Whether the server is enabled. */
  status(id: string, request?: RequestOptions): Promise<{ success: true; enabled: boolean; [key: string]: unknown }> {
    return this.#t.json({ method: 'GET', path: base(id) }, request);
  }

  /** Starts the server (idempotent); returns a fresh gateway JWT. */
  enable(id: string, request?: RequestOptions): Promise<AccessToken & { enabled: true }> {
    return this.#t.json({ method: 'POST', path: `${base(id)}/enable` }, request);
  }

  /** Stops the server, kills its sessions and revokes every token. */
  disable(id: string, request?: RequestOptions): Promise<{ success: true; enabled: false; [key: string]: unknown }> {
    return this.#t.json({ method: 'POST', path: `${base(id)}/disable` }, request);
  }

  /** Rotates: a new raw token on the agent and a new JWT; older ones stop working. */
  rotateToken(id: string, request?: RequestOptions): Promise<AccessToken> {
    return this.#t.json({ method: 'POST', path: `${base(id)}/token` }, request);
  }

  /** A fresh JWT of the current generation, without rotating. */
  getToken(id: string, request?: RequestOptions): Promise<AccessToken> {
    return this.#t.json({ method: 'GET', path: `${base(id)}/token` }, request);
  }

  /** The agent's raw token and private address, for direct workspace-to-workspace calls. */
  rawToken(id: string, request?: RequestOptions): Promise<{ success: true; token: string; ip: string; port: number }> {
    return this.#t.json({ method: 'GET', path: `${base(id)}/token/raw` }, request);
  }

  /** Re-establishes the server's connection. */
  reconnect(id: string, request?: RequestOptions): Promise<{ success: true; [key: string]: unknown }> {
    return this.#t.json({ method: 'POST', path: `${base(id)}/reconnect` }, request);
  }

  /** A long-lived (30-day) gateway JWT. */
  workspaceToken(id: string, request?: RequestOptions): Promise<AccessToken> {
    return this.#t.json({ method: 'POST', path: `${base(id)}/workspace` }, request);
  }
}
