import { AppError } from '@cove/protocol';
import type { FastifyInstance } from 'fastify';

/**
 * Remembers which methods each route pattern serves, so that a request for
 * a known path with a method it does not serve is answered 405 (with
 * `Allow`), and only an unknown path is 404.
 */
export class RouteTable {
  // Each pattern is compiled the first time a request needs it (a 404 or 405): compiling one per route when it
  // is registered was a measurable part of the agent's start (bench/results/agent-start.md).
  readonly #routes: Array<{ url: string; pattern?: RegExp; methods: Set<string> }> = [];
  readonly #byUrl = new Map<string, Set<string>>();

  attach(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      let known = this.#byUrl.get(route.url);
      if (!known) {
        known = new Set();
        this.#byUrl.set(route.url, known);
        this.#routes.push({ url: route.url, methods: known });
      }
      for (const m of methods) known.add(m.toUpperCase());
    });
  }

  /** The error for a request no route matched: 405 if the path exists under other methods. */
  notFound(method: string, url: string): AppError {
    const pathname = url.split('?', 1)[0] ?? '/';
    const allowed = new Set<string>();
    for (const route of this.#routes) {
      route.pattern ??= compile(route.url);
      if (route.pattern.test(pathname)) for (const m of route.methods) allowed.add(m);
    }
    allowed.delete('HEAD');
    if (allowed.size > 0 && !allowed.has(method.toUpperCase())) {
      const allow = [...allowed].sort().join(', ');
      return new AppError('method_not_allowed', `method ${method} not allowed on ${pathname}`, { Allow: allow });
    }
    return new AppError('not_found', `no such endpoint: ${method} ${pathname}`);
  }
}

function compile(url: string): RegExp {
  const body = url
    .split('/')
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${body}/?$`);
}
