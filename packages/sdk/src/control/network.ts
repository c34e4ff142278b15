import type { RequestOptions, Transport } from '../core/transport.js';

export interface NetworkSettings {
  success: true;
  ip?: string;
  public_access: boolean;
  private_link_ids?: string[];
  private_links?: unknown[];
  allow_internet?: boolean;
  ingress_ports?: number[];
  /** Allowed outbound destinations (IPv4, CIDR, host names); empty for any. */
  egress?: string[];
  [key: string]: unknown;
}

/**
 * A workspace's network settings (`client.workspaces.network`).
 *
 * @example
 * await client.workspaces.network.update('ws_a1b2c3d4', { public_access: true });
 * await client.workspaces.network.update('ws_target', { private_link_ids: ['ws_caller'] });
 */
export class Network {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  get(id: string, request?: RequestOptions): Promise<NetworkSettings> {
    return this.#t.json({ method: 'GET', path: `/workspace/${encodeURIComponent(id)}/network` }, request);
  }

  /** Partial update: only the fields given change. */
  update(
    id: string,
    settings: {
      public_access?: boolean;
      private_link_ids?: string[];
      allow_internet?: boolean;
      ingress_ports?: number[];
      /** Allowed outbound destinations: IPv4 addresses, CIDR ranges, host names; `[]` for any. */
      egress?: string[];
      [key: string]: unknown;
    },
    request?: RequestOptions,
  ): Promise<NetworkSettings> {
    return this.#t.json({ method: 'POST', path: `/workspace/${encodeURIComponent(id)}/network`, json: settings }, request);
  }
}
