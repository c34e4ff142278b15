import {
  LOG_LIMITS,
  WorkloadCreateBody,
  WorkloadDeleteAllResponse,
  WorkloadDeleteResponse,
  WorkloadInfo,
  WorkloadListQuery,
  WorkloadListResponse,
  WorkloadLogsQuery,
  WorkloadLogsResponse,
  WorkloadParams,
  WorkloadResponse,
  type WorkloadStats,
  WorkloadStatsResponse,
  WorkloadStatsStreamQuery,
  WorkloadStatusResponse,
  WorkloadUpdateBody,
} from '@cove/protocol';
import { Type } from '@sinclair/typebox';
import type { AgentApp } from '../context.js';
import { LogFollower, readTail, sizeOf } from '../logs/log-file.js';
import { SseStream } from '../logs/sse-stream.js';
import type { WorkloadManager } from './manager.js';
import { cpuPercent, type SessionSample, sampleSession } from './proc.js';
import type { Workload } from './workload.js';

const TAGS = ['workloads'];
const DEFAULT_TAIL = 200;

/** Registers `/workloads…`: definitions, start and stop, status, logs, stats and their streams. */
export function registerWorkloadRoutes(app: AgentApp, manager: WorkloadManager): void {
  app.post(
    '/workloads',
    {
      schema: {
        tags: TAGS,
        summary: 'Create a workload (started at once unless `enabled: false`)',
        body: WorkloadCreateBody,
        response: { 201: WorkloadResponse },
      },
    },
    async (request, reply) => {
      const w = await manager.create(request.body);
      return reply.code(201).send({ success: true as const, workload: w.toJSON() });
    },
  );

  app.get(
    '/workloads',
    {
      schema: {
        tags: TAGS,
        summary: 'List workloads (`states`: comma-separated statuses; `name`)',
        querystring: WorkloadListQuery,
        response: { 200: WorkloadListResponse },
      },
    },
    async (request) => {
      const list = manager.list(request.query).map((w) => w.toJSON());
      return { success: true as const, workloads: list, total: list.length };
    },
  );

  app.delete(
    '/workloads',
    { schema: { tags: TAGS, summary: 'Stop and delete every workload', response: { 200: WorkloadDeleteAllResponse } } },
    async () => ({ success: true as const, deleted: await manager.removeAll() }),
  );

  app.get(
    '/workloads/stats/stream',
    {
      schema: { tags: TAGS, summary: "Every workload's stats, each interval (SSE `stats` events)", querystring: WorkloadStatsStreamQuery },
    },
    async (request, reply) => {
      const sse = new SseStream(reply);
      const previous = new Map<string, SessionSample>();
      const interval = request.query.interval_ms ?? 1000;
      while (!sse.signal.aborted) {
        for (const w of manager.all()) {
          const stats = await statsOf(w, previous.get(w.def.id));
          previous.set(w.def.id, stats.sample);
          if (!(await sse.send('stats', stats.json))) break;
        }
        await pause(interval, sse.signal);
      }
      return reply;
    },
  );

  app.get(
    '/workloads/events',
    { schema: { tags: TAGS, summary: 'What the workspace is asked to do when workloads end (SSE `vm_on_exit` events)' } },
    async (_request, reply) => {
      const sse = new SseStream(reply);
      const unsubscribe = manager.followVmExits((event) => void sse.send(event.type, event));
      sse.signal.addEventListener('abort', unsubscribe, { once: true });
      return reply;
    },
  );

  app.get(
    '/workloads/:wid',
    {
      schema: {
        tags: TAGS,
        summary: 'A workload (its fields at the top level, and as `workload`)',
        params: WorkloadParams,
        response: { 200: Type.Object({ success: Type.Literal(true), ...WorkloadInfo.properties, workload: WorkloadInfo }) },
      },
    },
    async (request) => {
      const json = manager.get(request.params.wid).toJSON();
      return { success: true as const, ...json, workload: json };
    },
  );

  const update = async (request: { params: { wid: string }; body: WorkloadUpdateBody }) => {
    const w = await manager.update(request.params.wid, request.body);
    return { success: true as const, workload: w.toJSON() };
  };
  const updateSchema = { tags: TAGS, params: WorkloadParams, body: WorkloadUpdateBody, response: { 200: WorkloadResponse } };
  app.put('/workloads/:wid', { schema: { ...updateSchema, summary: 'Change a workload (the fields given)' } }, update);
  app.patch('/workloads/:wid', { schema: { ...updateSchema, summary: 'Change a workload (the fields given; as PUT)' } }, update);

  app.delete(
    '/workloads/:wid',
    { schema: { tags: TAGS, summary: 'Stop and delete a workload', params: WorkloadParams, response: { 200: WorkloadDeleteResponse } } },
    async (request) => {
      const w = await manager.remove(request.params.wid);
      return { success: true as const, workload_id: w.def.id };
    },
  );

  app.post(
    '/workloads/:wid/start',
    { schema: { tags: TAGS, summary: 'Start (and enable) a workload', params: WorkloadParams, response: { 200: WorkloadResponse } } },
    async (request) => ({ success: true as const, workload: (await manager.start(request.params.wid)).toJSON() }),
  );

  app.post(
    '/workloads/:wid/stop',
    {
      schema: {
        tags: TAGS,
        summary: 'Stop (and disable) a workload: SIGTERM to its group, SIGKILL after a grace',
        params: WorkloadParams,
        response: { 200: WorkloadResponse },
      },
    },
    async (request) => ({ success: true as const, workload: (await manager.stop(request.params.wid)).toJSON() }),
  );

  app.get(
    '/workloads/:wid/status',
    { schema: { tags: TAGS, summary: "A workload's status", params: WorkloadParams, response: { 200: WorkloadStatusResponse } } },
    async (request) => {
      const j = manager.get(request.params.wid).toJSON();
      return {
        success: true as const,
        workload_id: j.id,
        status: j.status,
        enabled: j.enabled,
        pid: j.pid,
        exit_code: j.exit_code,
        signal: j.signal,
        restart_count: j.restart_count,
        next_restart_at: j.next_restart_at,
        error: j.error,
        started_at: j.started_at,
        exited_at: j.exited_at,
        uptime_seconds: j.pid !== null && j.started_at !== null ? Math.max(0, (Date.now() - Date.parse(j.started_at)) / 1000) : null,
      };
    },
  );

  app.get(
    '/workloads/:wid/logs',
    {
      schema: {
        tags: TAGS,
        summary: "The end of a workload's log (stdout and stderr)",
        params: WorkloadParams,
        querystring: WorkloadLogsQuery,
        response: { 200: WorkloadLogsResponse },
      },
    },
    async (request) => {
      const w = manager.get(request.params.wid);
      const tail = await readTail(w.logFile, request.query.tail_lines ?? DEFAULT_TAIL, LOG_LIMITS.maxFileBytes);
      return {
        success: true as const,
        workload_id: w.def.id,
        log_path: w.logFile,
        size: tail.size,
        logs: tail.lines.map((data) => ({ data })),
      };
    },
  );

  app.get(
    '/workloads/:wid/logs/stream',
    {
      schema: {
        tags: TAGS,
        summary: "A workload's log, its end then as it grows (SSE `log` events)",
        params: WorkloadParams,
        querystring: WorkloadLogsQuery,
      },
    },
    async (request, reply) => {
      const w = manager.get(request.params.wid);
      const file = w.logFile;
      const offset = await sizeOf(file);
      const tail = await readTail(file, request.query.tail_lines ?? DEFAULT_TAIL, LOG_LIMITS.maxFileBytes);
      const sse = new SseStream(reply);
      const stamp = () => new Date().toISOString();
      for (const data of tail.lines) if (!(await sse.send('log', { data, workload_id: w.def.id }))) return reply;
      const follower = new LogFollower(file, offset);
      for (;;) {
        const lines = await follower.next(sse.signal);
        if (!lines) break;
        const timestamp = stamp();
        for (const data of lines) if (!(await sse.send('log', { data, timestamp, workload_id: w.def.id }))) return reply;
      }
      return reply;
    },
  );

  app.get(
    '/workloads/:wid/stats',
    {
      schema: {
        tags: TAGS,
        summary: "A workload's processes, CPU and memory now (from /proc)",
        params: WorkloadParams,
        response: { 200: WorkloadStatsResponse },
      },
    },
    async (request) => {
      const w = manager.get(request.params.wid);
      // Two samples a moment apart: CPU use is a rate.
      const first = await statsOf(w, undefined);
      await new Promise((r) => setTimeout(r, 200));
      return { success: true as const, ...(await statsOf(w, first.sample)).json };
    },
  );

  app.get(
    '/workloads/:wid/stats/stream',
    {
      schema: {
        tags: TAGS,
        summary: "A workload's stats, each interval (SSE `stats` events)",
        params: WorkloadParams,
        querystring: WorkloadStatsStreamQuery,
      },
    },
    async (request, reply) => {
      const w = manager.get(request.params.wid);
      const sse = new SseStream(reply);
      const interval = request.query.interval_ms ?? 1000;
      let previous: SessionSample | undefined;
      while (!sse.signal.aborted) {
        const stats = await statsOf(w, previous);
        previous = stats.sample;
        if (!(await sse.send('stats', stats.json))) break;
        await pause(interval, sse.signal);
      }
      return reply;
    },
  );
}

async function statsOf(w: Workload, previous: SessionSample | undefined): Promise<{ json: WorkloadStats; sample: SessionSample }> {
  const pid = w.pid;
  const sample = pid === null ? { pids: 0, cpuSeconds: 0, rssBytes: 0, at: Date.now() } : await sampleSession(pid);
  return {
    sample,
    json: {
      workload_id: w.def.id,
      name: w.def.name,
      status: w.status,
      pid,
      pids: sample.pids,
      cpu_usage: pid === null ? 0 : cpuPercent(previous, sample),
      cpu_seconds: sample.cpuSeconds,
      memory_usage: sample.rssBytes,
      memory_rss_bytes: sample.rssBytes,
      timestamp: new Date(sample.at).toISOString(),
    },
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
