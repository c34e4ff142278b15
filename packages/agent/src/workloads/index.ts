import type { Domain } from '../context.js';
import { WorkloadManager } from './manager.js';
import type { WorkloadTiming } from './workload.js';
import { registerWorkloadRoutes } from './workloads-routes.js';

/** The manager of each agent (by its context), for the logs domain's list of files. */
const managers = new WeakMap<object, WorkloadManager>();

/** The workloads of the agent whose context is `ctx`, when it serves the workloads domain. */
export function workloadManagerOf(ctx: object): WorkloadManager | undefined {
  return managers.get(ctx);
}

/** The workloads domain: managed background processes the agent supervises (`/workloads…`). */
export function createWorkloadsDomain(timing: Partial<WorkloadTiming> = {}): Domain {
  return async (app, ctx) => {
    const manager = new WorkloadManager({
      stateDir: ctx.stateDir,
      workdir: ctx.workdir,
      processes: ctx.processes,
      log: ctx.log,
      timing: { killGraceMs: 5000, resetAfterMs: 10_000, checkIntervalMs: 500, ...timing },
    });
    managers.set(ctx, manager);
    registerWorkloadRoutes(app, manager);
    // Saved workloads start (or are adopted) once the routes are in place; the agent says it is ready after.
    await manager.init();
    // An agent that is stopped takes its workloads along (the workspace is stopping); one that is killed
    // cannot, and the next agent adopts them.
    ctx.onClose(() => manager.close(true));
  };
}

/** The workloads domain with its production timings. */
export const workloadsDomain: Domain = createWorkloadsDomain();
