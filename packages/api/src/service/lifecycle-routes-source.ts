import type { RouteSource } from '@cove/protocol';
import type { Store } from '../store/store.js';

/**
 * The store as the gateway's route source, plus `wake`: a gateway in the control plane's process (`cove up`)
 * wakes sleeping workspaces through it. `wake` may be bound late (the gateway starts before the control plane,
 * whose public URLs take the gateway's port): until then a sleeping workspace is answered 503.
 */
export function wakingRoutes(store: Store, wake: (workspaceId: string) => Promise<void>): RouteSource {
  return {
    getRoute: (id) => store.getRoute(id),
    getPublicPort: (slug) => store.getPublicPort(slug),
    wake,
  };
}
