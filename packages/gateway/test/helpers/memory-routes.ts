import type { PublicPortRoute, RouteSource, WorkspaceRoute } from '@cove/protocol';

/** An in-memory RouteSource standing in for the control plane's store. */
export class MemoryRouteSource implements RouteSource {
  readonly routes = new Map<string, WorkspaceRoute>();
  readonly ports = new Map<string, PublicPortRoute>();
  lookups = 0;
  portLookups = 0;

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

  /** Exposes a port (or replaces the exposure with this slug). */
  setPort(port: PublicPortRoute): PublicPortRoute {
    this.ports.set(port.slug, { ...port });
    return port;
  }

  /** Changes an exposed port as the store would: every change bumps the generation. */
  updatePort(slug: string, change: Partial<Omit<PublicPortRoute, 'slug'>>): PublicPortRoute {
    const current = this.ports.get(slug);
    if (!current) throw new Error(`no public port ${slug}`);
    const next = { ...current, ...change, generation: current.generation + 1 };
    this.ports.set(slug, next);
    return next;
  }

  /** Revocation: the slug names nothing any more. */
  revokePort(slug: string): void {
    this.ports.delete(slug);
  }

  async getRoute(workspaceId: string): Promise<WorkspaceRoute | undefined> {
    this.lookups++;
    const route = this.routes.get(workspaceId);
    return route ? { ...route } : undefined;
  }

  async getPublicPort(slug: string): Promise<PublicPortRoute | undefined> {
    this.portLookups++;
    const port = this.ports.get(slug);
    return port ? { ...port } : undefined;
  }
}
