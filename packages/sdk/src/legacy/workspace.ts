import type { Oblien } from '../control/client.js';
import type { ExecOptions } from '../runtime/exec.js';
import type { ListOptions, ReadOptions, WriteOptions } from '../runtime/files.js';
import type { ContentSearchOptions, FileSearchOptions } from '../runtime/search.js';
import type { CreateTerminalOptions } from '../runtime/terminal.js';

/**
 * The older client shape, where every runtime call names its workspace:
 * `ws.files.list('ws_id', {...})`, `ws.exec.run('ws_id', { cmd })`.
 *
 * @example
 * import { OblienClient } from '@cove/sdk';
 * import { Workspace } from '@cove/sdk/workspace';
 * const ws = new Workspace(new OblienClient({ clientId, clientSecret, baseURL, gatewayURL }));
 * await ws.apiAccess.enable('ws_a1b2c3d4');
 * const files = await ws.files.list('ws_a1b2c3d4', { dirPath: '/app' });
 * const result = await ws.exec.run('ws_a1b2c3d4', { cmd: ['ls', '-la'] });
 */
export class Workspace {
  readonly #client: Oblien;

  constructor(client: Oblien) {
    this.#client = client;
  }

  get apiAccess() {
    return this.#client.workspaces.apiAccess;
  }

  get network() {
    return this.#client.workspaces.network;
  }

  create(...args: Parameters<Oblien['workspaces']['create']>) {
    return this.#client.workspaces.create(...args);
  }
  get(id: string) {
    return this.#client.workspaces.get(id);
  }
  list(...args: Parameters<Oblien['workspaces']['list']>) {
    return this.#client.workspaces.list(...args);
  }
  start(id: string) {
    return this.#client.workspaces.start(id);
  }
  stop(id: string) {
    return this.#client.workspaces.stop(id);
  }
  delete(id: string) {
    return this.#client.workspaces.delete(id);
  }

  readonly files = {
    list: async (id: string, options?: ListOptions) => (await this.#rt(id)).files.list(options),
    read: async (id: string, options: ReadOptions) => (await this.#rt(id)).files.read(options),
    write: async (id: string, options: WriteOptions) => (await this.#rt(id)).files.write(options),
    mkdir: async (id: string, options: { path: string; mode?: string }) => (await this.#rt(id)).files.mkdir(options),
    stat: async (id: string, options: { path: string }) => (await this.#rt(id)).files.stat(options),
    delete: async (id: string, options: { path: string }) => (await this.#rt(id)).files.delete(options),
  };

  readonly search = {
    content: async (id: string, options: ContentSearchOptions) => (await this.#rt(id)).search.content(options),
    files: async (id: string, options: FileSearchOptions) => (await this.#rt(id)).search.files(options),
  };

  readonly exec = {
    run: async (id: string, options: ExecOptions & { cmd: string[] | string }) => {
      const { cmd, ...rest } = options;
      return (await this.#rt(id)).exec.run(cmd, rest);
    },
    list: async (id: string) => (await this.#rt(id)).exec.list(),
    get: async (id: string, taskId: string) => (await this.#rt(id)).exec.get(taskId),
    kill: async (id: string, taskId: string) => (await this.#rt(id)).exec.kill(taskId),
  };

  readonly terminal = {
    create: async (id: string, options?: CreateTerminalOptions) => (await this.#rt(id)).terminal.create(options),
    list: async (id: string) => (await this.#rt(id)).terminal.list(),
    close: async (id: string, terminalId: string) => (await this.#rt(id)).terminal.close(terminalId),
  };

  #rt(id: string) {
    return this.#client.workspaces.runtime(id);
  }
}
