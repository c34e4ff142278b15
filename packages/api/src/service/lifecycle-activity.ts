import type { AgentActivity, WorkspaceDriver } from '@cove/protocol';
import type { WorkspaceRecord } from '../store/records.js';

/**
 * Asks the workspace's agent what uses it (`GET /activity`): asked only when an idle deadline comes, so idle
 * tracking costs one request per workspace per idle window and nothing per request anywhere. Undefined when
 * the agent cannot be asked (not running, unreachable — a sandbox's agent is reachable from the host only
 * while public access or an exposed port opens its port — or an answer that is not one): no evidence of use.
 */
export async function askActivity(ws: WorkspaceRecord, driver: WorkspaceDriver, timeoutMs: number): Promise<AgentActivity | undefined> {
  if (!ws.accessEnabled || ws.rawToken === null || ws.ip === null || ws.port === null || !driver.agentRunning(ws.id)) return undefined;
  const host = ws.ip.includes(':') ? `[${ws.ip}]` : ws.ip;
  try {
    const res = await fetch(`http://${host}:${ws.port}/activity`, {
      headers: { authorization: `Bearer ${ws.rawToken}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const body = (await res.json()) as Partial<AgentActivity>;
    if (typeof body.idle_ms !== 'number') return undefined;
    return {
      idle_ms: body.idle_ms,
      requests_in_flight: Number(body.requests_in_flight ?? 0),
      websockets: Number(body.websockets ?? 0),
      running_tasks: Number(body.running_tasks ?? 0),
      open_terminals: Number(body.open_terminals ?? 0),
    };
  } catch {
    return undefined;
  }
}
