import { readFileSync } from 'node:fs';
import type { RouteSource, WorkspaceRoute } from '@cove/protocol';

/**
 * A RouteSource read from a JSON file (`{"workspaces": [WorkspaceRoute, …]}`),
 * for a gateway in front of agents without a control plane (development,
 * benchmarks). `reload()` re-reads it (the CLI calls it on SIGHUP).
 */
export class StaticRouteSource implements RouteSource {
  readonly #file: string;
  #routes = new Map<string, WorkspaceRoute>();

  constructor(file: string) {
    this.#file = file;
    this.reload();
  }

  reload(): void {
    const parsed = JSON.parse(readFileSync(this.#file, 'utf8')) as { workspaces?: unknown };
    if (!Array.isArray(parsed.workspaces)) throw new Error(`${this.#file}: expected {"workspaces": [...]}`);
    const routes = new Map<string, WorkspaceRoute>();
    for (const item of parsed.workspaces as Array<Partial<WorkspaceRoute>>) {
      if (
        typeof item.workspaceId !== 'string' ||
        typeof item.ip !== 'string' ||
        typeof item.port !== 'number' ||
        typeof item.rawToken !== 'string'
      ) {
        throw new Error(`${this.#file}: each workspace needs workspaceId, ip, port and rawToken`);
      }
      routes.set(item.workspaceId, {
        workspaceId: item.workspaceId,
        ip: item.ip,
        port: item.port,
        rawToken: item.rawToken,
        generation: item.generation ?? 1,
        enabled: item.enabled ?? true,
        publicAccess: item.publicAccess ?? true,
        running: item.running ?? true,
      });
    }
    this.#routes = routes;
  }

  async getRoute(workspaceId: string): Promise<WorkspaceRoute | undefined> {
    return this.#routes.get(workspaceId);
  }
}
