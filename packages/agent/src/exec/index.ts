import type { Domain } from '../context.js';
import { commandLogOf } from '../logs/command-log.js';
import { registerExecRoutes } from './exec-routes.js';
import { locateSpawnHelper, startHelperSpawner } from './native/helper-spawner.js';
import { nodeSpawner } from './spawner.js';
import { TaskRegistry } from './task-registry.js';

/** Tunables of the exec domain; every one has a production default. */
export interface ExecDomainOptions {
  /** Running tasks at once (default 50, the reference's limit). */
  maxRunning?: number;
  /** Finished tasks remembered at most, oldest forgotten first (default 1000). */
  maxFinished?: number;
  /** Bytes of stdout and of stderr buffered per task (default 2 MiB each). */
  outputCap?: number;
  /** SIGTERM → SIGKILL grace when a task is killed (default 2 s). */
  killGraceMs?: number;
  /** Wait for pipes held by background children after the main process exits (default 1 s). */
  exitGraceMs?: number;
  /** `: ping` interval on SSE streams (default 15 s). */
  pingIntervalMs?: number;
  /** A stream reader stalled this long is disconnected (default 60 s). */
  stallTimeoutMs?: number;
  /** Bytes queued on an SSE socket before the task is paused (default 512 KiB). */
  sseSoftLimit?: number;
  /** How often expired tasks are swept (default 5 s). */
  sweepIntervalMs?: number;
  /**
   * Who forks: `auto` (default) uses the small spawn helper when it can be
   * built (fork cost grows with the forking process's memory), else the agent;
   * `node` always spawns from the agent.
   */
  spawner?: 'auto' | 'node';
}

/** Builds the exec domain: `/exec`, `/exec/stream` and `/exec/:id/...`. */
export function createExecDomain(options: ExecDomainOptions = {}): Domain {
  return async (app, ctx) => {
    const binary = options.spawner === 'node' ? undefined : await locateSpawnHelper(ctx.log);
    const spawner = binary ? startHelperSpawner(binary, nodeSpawner, ctx.log) : nodeSpawner;
    const registry = new TaskRegistry({
      maxRunning: options.maxRunning ?? 50,
      maxFinished: options.maxFinished ?? 1000,
      sweepIntervalMs: options.sweepIntervalMs ?? 5000,
    });
    registerExecRoutes(app, ctx, {
      registry,
      spawner,
      limits: {
        outputCap: options.outputCap ?? 2 * 1024 * 1024,
        killGraceMs: options.killGraceMs ?? 2000,
        exitGraceMs: options.exitGraceMs ?? 1000,
      },
      sse: {
        pingIntervalMs: options.pingIntervalMs ?? 15_000,
        stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
        softLimit: options.sseSoftLimit ?? 512 * 1024,
      },
      // Every command run through exec is recorded in the command log (logs/command-log.ts).
      onFinished: (task) => commandLogOf(ctx).record(task),
    });
    // Tasks do not outlive the agent: every running group is killed when it stops.
    ctx.onClose(() => {
      for (const task of registry.all()) if (task.running) task.signalGroup('SIGKILL');
      registry.close();
      spawner.close();
    });
  };
}

/** The exec domain with its production defaults. */
export const execDomain: Domain = createExecDomain();
