import type { LifecycleRecord } from '../store/records.js';
import type { ControlContext } from './context.js';
import { addEvent } from './lifecycle-policy.js';
import { powerLocked } from './workspaces.js';

/**
 * A workspace without a restart policy whose agent died unasked: its container is gone with it (the agent is
 * the container's first process, under tini), so it is reported as what it is — stopped, by failure, with an
 * event saying why — instead of `running` while the gateway finds nothing to talk to. A start runs it again.
 * `record` saves the lifecycle change under the workspace's lock.
 */
export async function stopFailed(
  ctx: ControlContext,
  id: string,
  reason: string,
  record: (id: string, change: (lc: LifecycleRecord) => void) => Promise<void>,
): Promise<void> {
  const stopped = await ctx.locks.run(id, async () => {
    const ws = await ctx.store.getWorkspace(id);
    // A user's stop, restart or access change in progress is no death: confirmed under the lock.
    if (ws === undefined || ws.status !== 'running' || !ws.accessEnabled || ctx.driver.agentRunning(id)) return false;
    await powerLocked(ctx, ws, 'stop');
    return true;
  });
  if (!stopped) return;
  ctx.log.warn({ workspace: id, reason }, 'workspace agent died; no restart policy: the workspace is stopped');
  await record(id, (lc) => {
    lc.stoppedBy = 'failure';
    lc.wakeOnTraffic = false;
    addEvent(lc, { type: 'agent_exited', detail: `${reason}: stopped (restart_policy never)` });
  });
}
