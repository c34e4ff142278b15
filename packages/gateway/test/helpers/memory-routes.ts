import type { RouteSource, WorkspaceRoute } from '@cove/protocol';

/** An in-memory RouteSource standing in for the control plane's store. */
export class MemoryRouteSource implements RouteSource {
  readonly routes = new Map<string, WorkspaceRoute>();
  lookups = 0;

  set(route: WorkspaceRoute): WorkspaceRoute {
    this.routes.set(route.workspaceId, { ...route });
    return route;
  }

  /** Changes fields of a workspace's route, as the store would after an API call. */
  update(workspaceId: string, change: Partial<WorkspaceRoute>): WorkspaceRoute {
    const current = this.routes.get(workspaceId);
    if (!current) throw new Error(`no route ${workspaceId}`);
    const next = { ...current, ...change };
    this.routes.set(workspaceId, next);
    return next;
  }

  /** Rotation: a new generation (older JWTs revoked). */
  rotate(workspaceId: string): WorkspaceRoute {
    const current = this.routes.get(workspaceId);
    if (!current) throw new Error(`no route ${workspaceId}`);
    return this.update(workspaceId, { generation: current.generation + 1 });
  }

  async getRoute(workspaceId: string): Promise<WorkspaceRoute | undefined> {
    this.lookups++;
    const route = this.routes.get(workspaceId);
    return route ? { ...route } : undefined;
  }
}
