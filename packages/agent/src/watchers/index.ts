import type { Domain } from '../context.js';
import { WatcherRegistry, type WatcherRegistryOptions } from './registry.js';
import { registerWatcherRoutes } from './watchers-routes.js';

export type WatchersDomainOptions = WatcherRegistryOptions;

/** File watchers: REST routes on `/watchers`, events on `/ws` (channel `watcher`). */
export function createWatchersDomain(options: WatchersDomainOptions = {}): Domain {
  return (app, ctx) => {
    const registry = new WatcherRegistry(ctx, options);
    registerWatcherRoutes(app, ctx, registry);
    ctx.onClose(() => registry.closeAll());
  };
}

/** The watchers domain with the reference's limits. */
export const watchersDomain: Domain = createWatchersDomain();
