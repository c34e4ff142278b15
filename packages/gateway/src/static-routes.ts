import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PUBLIC_SLUG_PATTERN, type PublicPortRoute, type RouteSource, type WorkspaceRoute } from '@cove/protocol';

const SLUG = new RegExp(PUBLIC_SLUG_PATTERN);

/**
 * A RouteSource read from a JSON file (`{"workspaces": [WorkspaceRoute, …],
 * "publicPorts": [PublicPortRoute, …]}`), for a gateway in front of agents
 * without a control plane (development, benchmarks). A token port may give
 * its `token` in clear instead of `tokenSha256` (the file is the secret
 * then). `reload()` re-reads it (the CLI calls it on SIGHUP).
 */
export class StaticRouteSource implements RouteSource {
  readonly #file: string;
  #routes = new Map<string, WorkspaceRoute>();
  #ports = new Map<string, PublicPortRoute>();

  constructor(file: string) {
    this.#file = file;
    this.reload();
  }

  reload(): void {
    const parsed = JSON.parse(readFileSync(this.#file, 'utf8')) as { workspaces?: unknown; publicPorts?: unknown };
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
    const ports = new Map<string, PublicPortRoute>();
    if (parsed.publicPorts !== undefined) {
      if (!Array.isArray(parsed.publicPorts)) throw new Error(`${this.#file}: "publicPorts" must be an array`);
      for (const item of parsed.publicPorts as unknown[]) {
        const port = this.#publicPort(item, routes);
        if (ports.has(port.slug)) throw new Error(`${this.#file}: public port slug '${port.slug}' is listed twice`);
        ports.set(port.slug, port);
      }
    }
    this.#routes = routes;
    this.#ports = ports;
  }

  async getRoute(workspaceId: string): Promise<WorkspaceRoute | undefined> {
    return this.#routes.get(workspaceId);
  }

  async getPublicPort(slug: string): Promise<PublicPortRoute | undefined> {
    return this.#ports.get(slug);
  }

  #publicPort(value: unknown, routes: ReadonlyMap<string, WorkspaceRoute>): PublicPortRoute {
    const fail = (problem: string): never => {
      throw new Error(`${this.#file}: each public port needs ${problem}`);
    };
    if (typeof value !== 'object' || value === null) return fail('to be an object');
    const item = value as Partial<PublicPortRoute> & { token?: unknown };
    if (typeof item.slug !== 'string' || !SLUG.test(item.slug))
      return fail('a slug: one lowercase DNS label of 3–63 letters, digits and inner hyphens');
    if (typeof item.workspaceId !== 'string' || !routes.has(item.workspaceId)) return fail('the workspaceId of a listed workspace');
    if (!Number.isInteger(item.port) || (item.port as number) < 1 || (item.port as number) > 65535) return fail('a port (1–65535)');
    const auth = item.auth ?? 'public';
    if (auth !== 'public' && auth !== 'token') return fail('an auth of "public" or "token"');
    let tokenSha256: string | null = null;
    if (auth === 'token') {
      if (typeof item.token === 'string' && item.token !== '') tokenSha256 = createHash('sha256').update(item.token).digest('hex');
      else if (typeof item.tokenSha256 === 'string' && /^[0-9a-f]{64}$/i.test(item.tokenSha256))
        tokenSha256 = item.tokenSha256.toLowerCase();
      else return fail('(with auth "token") a token or a tokenSha256 of 64 hex digits');
    }
    const generation = item.generation ?? 1;
    if (!Number.isInteger(generation)) return fail('an integer generation');
    return { workspaceId: item.workspaceId, slug: item.slug, port: item.port as number, auth, tokenSha256, generation };
  }
}
