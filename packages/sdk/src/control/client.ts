import type { RequestOptions } from '../core/transport.js';
import type { Runtime } from '../runtime/runtime.js';
import { type ClientOptions, controlTransport } from './control-http.js';
import type { NetworkSettings } from './network.js';
import type { ExposePortParams, PublicAccessPort } from './public-access.js';
import { type WorkspaceInfo, Workspaces } from './workspaces.js';

/**
 * The Cove client: workspaces, their access tokens, network and runtimes.
 *
 * @example
 * import { Oblien } from '@cove/sdk';
 * const client = new Oblien({ clientId, clientSecret, baseURL: 'http://127.0.0.1:9070', gatewayURL: 'http://127.0.0.1:9080' });
 * const rt = await client.workspaces.runtime('ws_a1b2c3d4');
 * const files = await rt.files.list({ dirPath: '/app' });
 */
export class Oblien {
  readonly workspaces: Workspaces;

  constructor(options: ClientOptions = {}) {
    const { transport, gatewayURL } = controlTransport(options);
    this.workspaces = new Workspaces(transport, gatewayURL, options.fetch);
  }

  /**
   * A handle on one workspace, with its id filled in.
   *
   * @example
   * const ws = client.workspace('ws_a1b2c3d4');
   * await ws.start();
   * const rt = await ws.runtime();
   */
  workspace(id: string): WorkspaceHandle {
    return new WorkspaceHandle(this.workspaces, id);
  }
}

/**
 * The older name of `Oblien`.
 *
 * @example
 * const client = new OblienClient({ clientId, clientSecret, baseURL, gatewayURL });
 */
export class OblienClient extends Oblien {}

/**
 * One workspace with its id bound.
 *
 * @example
 * const ws = client.workspace('ws_a1b2c3d4');
 * await ws.apiAccess.enable();
 * await ws.network.update({ public_access: true });
 */
export class WorkspaceHandle {
  readonly id: string;
  readonly #w: Workspaces;
  readonly apiAccess;
  readonly network;
  readonly publicAccess;

  constructor(workspaces: Workspaces, id: string) {
    this.#w = workspaces;
    this.id = id;
    const a = workspaces.apiAccess;
    this.apiAccess = {
      status: (r?: RequestOptions) => a.status(id, r),
      enable: (r?: RequestOptions) => a.enable(id, r),
      disable: (r?: RequestOptions) => a.disable(id, r),
      rotateToken: (r?: RequestOptions) => a.rotateToken(id, r),
      getToken: (r?: RequestOptions) => a.getToken(id, r),
      rawToken: (r?: RequestOptions) => a.rawToken(id, r),
      reconnect: (r?: RequestOptions) => a.reconnect(id, r),
      workspaceToken: (r?: RequestOptions) => a.workspaceToken(id, r),
    };
    this.network = {
      get: (r?: RequestOptions): Promise<NetworkSettings> => workspaces.network.get(id, r),
      update: (settings: Parameters<Workspaces['network']['update']>[1], r?: RequestOptions) => workspaces.network.update(id, settings, r),
    };
    const p = workspaces.publicAccess;
    this.publicAccess = {
      list: (r?: RequestOptions): Promise<PublicAccessPort[]> => p.list(id, r),
      expose: (params: ExposePortParams, r?: RequestOptions): Promise<PublicAccessPort> => p.expose(id, params, r),
      updateSlug: (port: number, params: { slug: string }, r?: RequestOptions): Promise<PublicAccessPort> =>
        p.updateSlug(id, port, params, r),
      revoke: (port: number, r?: RequestOptions) => p.revoke(id, port, r),
    };
  }

  get(request?: RequestOptions): Promise<WorkspaceInfo> {
    return this.#w.get(this.id, request);
  }
  start(request?: RequestOptions) {
    return this.#w.start(this.id, request);
  }
  stop(request?: RequestOptions) {
    return this.#w.stop(this.id, request);
  }
  restart(request?: RequestOptions) {
    return this.#w.restart(this.id, request);
  }
  pause(request?: RequestOptions) {
    return this.#w.pause(this.id, request);
  }
  resume(request?: RequestOptions) {
    return this.#w.resume(this.id, request);
  }
  delete(request?: RequestOptions) {
    return this.#w.delete(this.id, request);
  }
  fork(params?: { name?: string; count?: number }, request?: RequestOptions) {
    return this.#w.fork(this.id, params, request);
  }
  runtime(options?: { force?: boolean }): Promise<Runtime> {
    return this.#w.runtime(this.id, options);
  }
}
