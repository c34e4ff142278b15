import {
  AppError,
  ExecDeleteAllResponse,
  ExecInputQuery,
  ExecInputResponse,
  ExecListResponse,
  ExecRunBody,
  ExecSignalBody,
  ExecSignalResponse,
  ExecStreamQuery,
  type ExecTaskJson,
  ExecTaskObject,
  ExecTaskParams,
  SuccessResponse,
} from '@cove/protocol';
import type { FastifyReply } from 'fastify';
import type { AgentApp, AgentContext } from '../context.js';
import { resolveInvocation } from './command-line.js';
import { parseRunRequest } from './run-request.js';
import { parseSignal } from './signals.js';
import type { Spawner } from './spawner.js';
import { type SseOptions, SseTaskStream } from './sse.js';
import { writeInput } from './stdin-input.js';
import { Task, type TaskLimits } from './task.js';
import type { TaskRegistry } from './task-registry.js';

export interface ExecRouteDeps {
  registry: TaskRegistry;
  spawner: Spawner;
  limits: TaskLimits;
  sse: SseOptions;
  /** Told of every task once it has finished, before its output may be discarded (the command log). */
  onFinished?: (task: Task) => void;
}

const TAGS = ['exec'];

/** Registers every `/exec` route. */
export function registerExecRoutes(app: AgentApp, ctx: AgentContext, deps: ExecRouteDeps): void {
  const { registry } = deps;

  const run = async (body: ExecRunBody, reply: FastifyReply, forceStream: boolean) => {
    const spec = parseRunRequest(body, ctx.workdir, forceStream);
    const invocation = resolveInvocation(spec.command, spec.mode);
    // The request's user and variables win over the workspace's (the image's User and Env).
    const identity = ctx.processes.resolve(spec.user, spec.env);
    const task = new Task({
      id: registry.newId(),
      command: spec.command,
      mode: spec.mode,
      ttlSeconds: spec.ttlSeconds,
      keepLogs: spec.keepLogs,
      timeoutMs: spec.timeoutMs,
      cwd: spec.cwd ?? ctx.workdir,
      limits: deps.limits,
    });
    registry.admit(task);
    const started = await task.start(invocation, identity, deps.spawner, (t) => {
      deps.onFinished?.(t);
      registry.finished(t);
    });
    if (!started) {
      throw new AppError(
        'failed_to_start',
        `failed to start process: ${task.error?.replace(/^failed to start process: /, '')}: ${invocation.file}`,
      );
    }
    if (spec.stream) {
      SseTaskStream.follow(reply, task, deps.sse, true);
      return reply;
    }
    // The snapshot is taken at exit, before output is discarded (keep_logs false): the
    // synchronous answer always carries the output. The task outlives a client that leaves.
    return new Promise<ExecTaskJson>((resolve) => {
      task.attach({ output() {}, exit: (t) => resolve(t.toJSON(true)) }, false);
    });
  };

  app.post(
    '/exec',
    {
      schema: {
        tags: TAGS,
        summary: 'Run a command: wait for the task object, or stream SSE with `stream: true`',
        body: ExecRunBody,
        response: { 200: ExecTaskObject },
      },
    },
    (request, reply) => run(request.body, reply, false),
  );

  app.post(
    '/exec/stream',
    {
      schema: { tags: TAGS, summary: 'Run a command and stream its output as SSE (alias of `stream: true`)', body: ExecRunBody },
    },
    (request, reply) => run(request.body, reply, true),
  );

  app.get(
    '/exec/stream',
    { schema: { tags: TAGS, summary: "Attach to a task's output (SSE): replay, live output, exit", querystring: ExecStreamQuery } },
    async (request, reply) => {
      const id = request.query.task_id;
      if (id === undefined || id === '') throw new AppError('bad_request', "missing required parameter 'task_id'");
      const task = registry.get(id);
      if (task.finished) SseTaskStream.replayFinished(reply, task);
      else SseTaskStream.follow(reply, task, deps.sse, false);
      return reply;
    },
  );

  app.get('/exec', { schema: { tags: TAGS, summary: 'List tracked tasks', response: { 200: ExecListResponse } } }, async () => ({
    success: true as const,
    tasks: registry.list().map((t) => t.toJSON(false)),
  }));

  app.delete(
    '/exec',
    { schema: { tags: TAGS, summary: 'Kill every running task and stop tracking all', response: { 200: ExecDeleteAllResponse } } },
    async () => {
      const tasks = registry.list();
      for (const task of tasks) forget(task);
      return { success: true as const, deleted: tasks.length };
    },
  );

  app.get(
    '/exec/:id',
    { schema: { tags: TAGS, summary: 'A task with its buffered output', params: ExecTaskParams, response: { 200: ExecTaskObject } } },
    async (request) => registry.get(request.params.id).toJSON(true),
  );

  app.delete(
    '/exec/:id',
    {
      schema: {
        tags: TAGS,
        summary: "Kill a running task's process group, close its stdin and stop tracking it",
        params: ExecTaskParams,
        response: { 200: SuccessResponse },
      },
    },
    async (request) => {
      forget(registry.get(request.params.id));
      return { success: true as const };
    },
  );

  app.post(
    '/exec/:id/input',
    {
      schema: {
        tags: TAGS,
        summary: "Write the raw request body to a running task's stdin (`?eof=true` closes stdin afterwards)",
        params: ExecTaskParams,
        querystring: ExecInputQuery,
        response: { 200: ExecInputResponse },
      },
      config: { rawBody: true },
    },
    async (request) => {
      const task = runningTask(registry, request.params.id);
      if (!task.stdin) throw new AppError('task_not_running', `stdin of task ${task.id} is closed`);
      const eof = request.query.eof;
      const written = await writeInput(task, request.raw, eof);
      return eof
        ? { success: true as const, bytes_written: written, stdin_closed: true }
        : { success: true as const, bytes_written: written };
    },
  );

  app.post(
    '/exec/:id/stdin/close',
    {
      schema: { tags: TAGS, summary: "Close a running task's stdin (end of input) without killing it", params: ExecTaskParams },
      // Any body is ignored.
      config: { rawBody: true },
    },
    async (request) => {
      const task = runningTask(registry, request.params.id);
      task.closeStdin();
      return { success: true as const };
    },
  );

  app.post(
    '/exec/:id/signal',
    {
      schema: {
        tags: TAGS,
        summary: "Send a signal to a running task's process group",
        params: ExecTaskParams,
        body: ExecSignalBody,
        response: { 200: ExecSignalResponse },
      },
    },
    async (request) => {
      const signal = parseSignal(request.body.signal);
      const task = runningTask(registry, request.params.id);
      if (!task.signalGroup(signal)) throw new AppError('task_not_running', `task ${task.id} has no live process`);
      return { success: true as const, signal };
    },
  );

  /**
   * Stops tracking a task; while it runs, its process group is killed and its
   * stdin closed. Background children of a task that already exited are left
   * alone: they were started on purpose (`server &`), and the group id may be reused.
   */
  function forget(task: Task): void {
    registry.remove(task);
    if (task.running) task.kill();
  }
}

function runningTask(registry: TaskRegistry, id: string): Task {
  const task = registry.get(id);
  if (!task.running) throw new AppError('task_not_running', `task ${task.id} is not running (status ${task.status})`);
  return task;
}
