import { AgentActivity } from '@cove/protocol';
import type { Domain } from '../context.js';
import { ACTIVITY_PATH, UseTracker } from './use-tracker.js';

/**
 * `GET /activity`: whether anything uses the workspace — requests and WebSockets in flight (tracked by
 * UseTracker), running exec tasks and open terminals (asked of the agent's own routes, so those domains need no
 * hook). The control plane's idle policy reads it; it is not itself counted as use.
 */
export const activityDomain: Domain = (app) => {
  const tracker = new UseTracker();
  // After every domain and the proxy installed their listeners (onReady runs inside app.ready()).
  app.addHook('onReady', async () => tracker.install(app.server));

  app.get(
    ACTIVITY_PATH,
    { schema: { summary: "What uses the workspace now (the control plane's idle policy)", response: { 200: AgentActivity } } },
    async (request) => {
      const authorization = request.headers.authorization ?? '';
      const [tasks, terminals] = await Promise.all([
        app.inject({ method: 'GET', url: '/exec', headers: { authorization } }),
        app.inject({ method: 'GET', url: '/terminals', headers: { authorization } }),
      ]);
      const running = (tasks.json() as { tasks?: Array<{ status?: string }> }).tasks?.filter((t) => t.status === 'running').length ?? 0;
      const open = (terminals.json() as { terminals?: Array<{ alive?: boolean }> }).terminals?.filter((t) => t.alive).length ?? 0;
      const idle = running > 0 || open > 0 ? 0 : tracker.idleMs();
      return {
        idle_ms: idle,
        requests_in_flight: tracker.requestsInFlight,
        websockets: tracker.websockets,
        running_tasks: running,
        open_terminals: open,
      };
    },
  );
};
