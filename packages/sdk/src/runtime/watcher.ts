import type { WatcherDeleteResponse, WatcherResponse, WatcherInfo as WireWatcherInfo } from '@cove/protocol';
import type { RequestOptions } from '../core/transport.js';
import type { RuntimeHttp } from './runtime-http.js';

/** A watcher as listed. */
export type WatcherInfo = WireWatcherInfo;

/**
 * File watchers (`rt.watcher`); their events flow over `rt.ws()`.
 *
 * @example
 * const watcher = await rt.watcher.create({ path: '/app/src', excludes: ['*.log'] });
 * const ws = rt.ws();
 * ws.onWatcherEvent((ev) => console.log(ev.type, ev.path, ev.op));
 * await ws.connect();
 */
export class Watcher {
  readonly #http: RuntimeHttp;

  constructor(http: RuntimeHttp) {
    this.#http = http;
  }

  /** Starts watching a directory tree (`POST /watchers`). */
  create(options: { path: string; excludes?: string[] }, request?: RequestOptions): Promise<WatcherResponse> {
    return this.#http.json({ method: 'POST', path: '/watchers', json: options }, request);
  }

  /** Every watcher (`GET /watchers`). */
  async list(request?: RequestOptions): Promise<WatcherInfo[]> {
    const body = await this.#http.json<{ watchers: WatcherInfo[] }>({ method: 'GET', path: '/watchers' }, request);
    return body.watchers;
  }

  /** One watcher (`GET /watchers/:id`). */
  get(id: string, request?: RequestOptions): Promise<WatcherResponse> {
    return this.#http.json({ method: 'GET', path: `/watchers/${encodeURIComponent(id)}` }, request);
  }

  /** Stops a watcher (`DELETE /watchers/:id`). */
  delete(id: string, request?: RequestOptions): Promise<WatcherDeleteResponse> {
    return this.#http.json({ method: 'DELETE', path: `/watchers/${encodeURIComponent(id)}` }, request);
  }
}
