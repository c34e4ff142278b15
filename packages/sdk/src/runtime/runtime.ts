import type { RequestOptions } from '../core/transport.js';
import { Exec } from './exec.js';
import { Files } from './files.js';
import { RuntimeProxy } from './proxy.js';
import { RuntimeHttp, type RuntimeOptions } from './runtime-http.js';
import { Search } from './search.js';
import { Terminal } from './terminal.js';
import { Watcher } from './watcher.js';
import { RuntimeWebSocket, type RuntimeWebSocketOptions } from './websocket.js';

/**
 * A workspace's Internal API: files, search, exec, terminals, watchers.
 * Through the gateway with a gateway JWT, or directly to an agent with its
 * raw token (workspace to workspace).
 *
 * @example
 * import { Runtime } from '@cove/sdk';
 * const rt = new Runtime({ baseURL: 'http://10.0.1.42:9990', token: raw.token });
 * const { stdout } = await rt.exec.run(['ls', '-la']);
 */
export class Runtime {
  readonly files: Files;
  readonly search: Search;
  readonly exec: Exec;
  readonly terminal: Terminal;
  readonly watcher: Watcher;
  readonly #http: RuntimeHttp;

  constructor(options: RuntimeOptions) {
    this.#http = new RuntimeHttp(options);
    this.files = new Files(this.#http);
    this.search = new Search(this.#http);
    this.exec = new Exec(this.#http);
    this.terminal = new Terminal(this.#http);
    this.watcher = new Watcher(this.#http);
  }

  /** The base URL requests go to. */
  get baseURL(): string {
    return this.#http.transport.baseURL;
  }

  /** What the workspace runs on (`GET /runtime`). */
  info(request?: RequestOptions): Promise<Record<string, unknown>> {
    return this.#http.json({ method: 'GET', path: '/runtime' }, request);
  }

  /** Whether the runtime answers (`GET /health`); never throws. */
  async health(request?: RequestOptions): Promise<boolean> {
    try {
      const body = await this.#http.json<{ status?: string }>({ method: 'GET', path: '/health' }, request);
      return body?.status === 'ok';
    } catch {
      return false;
    }
  }

  /**
   * An app listening on a loopback port inside the workspace, through the
   * runtime's `/proxy` (HTTP and WebSocket). `host` is a loopback address
   * (`127.0.0.1` by default, `::1`, `localhost`).
   *
   * @example
   * const res = await rt.proxy(3000).fetch('/api/users?limit=10');
   * const socket = await rt.proxy(3000).ws('/socket');
   */
  proxy(port: number, host?: string): RuntimeProxy {
    return new RuntimeProxy(this.#http, port, host);
  }

  /** A WebSocket for terminal I/O and watcher events; call `connect()` on it. */
  ws(options?: RuntimeWebSocketOptions): RuntimeWebSocket {
    return new RuntimeWebSocket(this.#http, options);
  }
}

export type { RuntimeOptions, TokenSource } from './runtime-http.js';
