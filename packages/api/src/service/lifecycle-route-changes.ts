import type { WorkspacePatch } from '../store/records.js';
import type { Store } from '../store/store.js';

/** The fields a workspace's route is made of (the store's `getRoute`): a change to any of them changes it. */
const ROUTE_FIELDS: ReadonlyArray<keyof WorkspacePatch> = ['status', 'ip', 'port', 'accessEnabled', 'rawToken', 'network'];

/**
 * The store as the control plane writes it, telling `changed(id)` once a write that changes a workspace's route
 * has landed: its state (pause, stop, start, wake, restart, the lifecycle's own sleeps), address, token, public
 * access, its lifecycle row (whether traffic may wake it), its deletion. `cove up` gives the control plane this
 * store and the gateway in its process drops the workspace's cached route then, so a request right after a pause
 * finds the workspace paused (and wakes it) instead of going to its frozen agent on a route cached before. The
 * writes are the one place every lifecycle path passes through, so none can forget to tell. Reads and the
 * gateway's own route look-ups go to the store unchanged.
 */
export function withRouteChanges(store: Store, changed: (workspaceId: string) => void): Store {
  const tell = (id: string) => {
    try {
      changed(id);
    } catch {
      // A listener's failure is not the write's: the route cache then catches up within its TTL.
    }
  };
  const wrapped: Partial<Store> = {
    async updateWorkspace(id, patch) {
      const out = await store.updateWorkspace(id, patch);
      if (ROUTE_FIELDS.some((field) => patch[field] !== undefined)) tell(id);
      return out;
    },
    async bumpGeneration(id, patch) {
      const out = await store.bumpGeneration(id, patch);
      tell(id);
      return out;
    },
    async deleteWorkspace(id) {
      const out = await store.deleteWorkspace(id);
      tell(id);
      return out;
    },
    async putLifecycle(record) {
      await store.putLifecycle(record);
      tell(record.workspaceId);
    },
  };
  return new Proxy(store, {
    get(target, key) {
      if (Object.hasOwn(wrapped, key)) return wrapped[key as keyof Store];
      const value = Reflect.get(target, key, target);
      // The store's methods use its private fields: they run on the store itself, not on the proxy.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
