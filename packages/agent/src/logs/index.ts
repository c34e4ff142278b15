import type { Domain } from '../context.js';
import { workloadManagerOf } from '../workloads/index.js';
import { commandLogOf } from './command-log.js';
import { registerLogsRoutes } from './logs-routes.js';

/** The logs domain: the command log and the log files the agent keeps (`/logs…`). */
export const logsDomain: Domain = (app, ctx) => {
  const cmdLog = commandLogOf(ctx);
  registerLogsRoutes(app, cmdLog, () => (workloadManagerOf(ctx)?.all() ?? []).map((w) => ({ id: w.def.id, file: w.logFile })));
  ctx.onClose(() => cmdLog.flushed());
};
