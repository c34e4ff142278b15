import {
  ErrorResponse,
  WorkloadCreateBody,
  WorkloadDeleteAllResponse,
  WorkloadDeleteResponse,
  WorkloadInfo,
  WorkloadListQuery,
  WorkloadListResponse,
  WorkloadLogsQuery,
  WorkloadLogsResponse,
  WorkloadResponse,
  WorkloadStatsResponse,
  WorkloadStatsStreamQuery,
  WorkloadStatusResponse,
  WorkloadUpdateBody,
  WorkspaceIdParams,
} from '@cove/protocol';
import { type TObject, Type } from '@sinclair/typebox';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { WorkloadExitWatch, workloads } from '../service/workloads.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 503: ErrorResponse };
const WorkloadPathParams = Type.Object({ id: Type.String({ maxLength: 128 }), wid: Type.String({ maxLength: 128 }) });
const enc = encodeURIComponent;

/** An agent's answer as relayed: its schema with the workspace's id beside. */
const relayed = <T extends TObject>(schema: T) => Type.Object({ ...schema.properties, workspace_id: Type.String() });
const One = relayed(WorkloadResponse);

/**
 * Managed workloads: the official SDK's `workspaces.workloads`. Each call reaches the workspace's agent, which
 * keeps and supervises them (the agent's answers are relayed as they are, `workspace_id` added). Returns the
 * watch that acts on `vm_on_exit`, for the control plane to start and close.
 */
export function workloadRoutes(app: ApiApp, ctx: ControlContext): WorkloadExitWatch {
  const tags = ['workloads'];
  const exits = new WorkloadExitWatch(ctx);
  app.post(
    '/workspace/:id/workloads',
    {
      schema: {
        tags,
        summary: 'Create a workload (started at once unless `enabled: false`)',
        params: WorkspaceIdParams,
        body: WorkloadCreateBody,
        response: { 201: One, ...errors },
      },
    },
    async (r, reply) => reply.code(201).send(await workloads.create(ctx, exits, r.coveOwner, r.params.id, r.body)),
  );
  app.get(
    '/workspace/:id/workloads',
    {
      schema: {
        tags,
        summary: 'List workloads (`states`: comma-separated statuses; `name`)',
        params: WorkspaceIdParams,
        querystring: WorkloadListQuery,
        response: { 200: relayed(WorkloadListResponse), ...errors },
      },
    },
    (r) => workloads.list(ctx, r.coveOwner, r.params.id, r.query),
  );
  app.delete(
    '/workspace/:id/workloads',
    {
      schema: {
        tags,
        summary: 'Stop and delete every workload',
        params: WorkspaceIdParams,
        response: { 200: relayed(WorkloadDeleteAllResponse), ...errors },
      },
    },
    (r) => workloads.removeAll(ctx, r.coveOwner, r.params.id),
  );
  app.get(
    '/workspace/:id/workloads/stats/stream',
    {
      schema: {
        tags,
        summary: "Every workload's stats each interval (SSE)",
        params: WorkspaceIdParams,
        querystring: WorkloadStatsStreamQuery,
        response: errors,
      },
    },
    (r, reply) =>
      workloads.stream(
        ctx,
        r.coveOwner,
        r.params.id,
        `/workloads/stats/stream${r.query.interval_ms ? `?interval_ms=${r.query.interval_ms}` : ''}`,
        reply,
      ),
  );
  app.get(
    '/workspace/:id/workloads/:wid',
    {
      schema: {
        tags,
        summary: 'A workload (its fields at the top level, and as `workload`)',
        params: WorkloadPathParams,
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            ...WorkloadInfo.properties,
            workload: WorkloadInfo,
            workspace_id: Type.String(),
          }),
          ...errors,
        },
      },
    },
    (r) => workloads.get(ctx, r.coveOwner, r.params.id, r.params.wid),
  );
  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/workspace/:id/workloads/:wid',
      schema: {
        tags,
        summary: 'Change a workload (the fields given)',
        params: WorkloadPathParams,
        body: WorkloadUpdateBody,
        response: { 200: One, ...errors },
      },
      handler: (r) => workloads.update(ctx, exits, r.coveOwner, r.params.id, r.params.wid, r.body, method),
    });
  }
  app.delete(
    '/workspace/:id/workloads/:wid',
    {
      schema: {
        tags,
        summary: 'Stop and delete a workload',
        params: WorkloadPathParams,
        response: { 200: relayed(WorkloadDeleteResponse), ...errors },
      },
    },
    (r) => workloads.remove(ctx, r.coveOwner, r.params.id, r.params.wid),
  );
  for (const verb of ['start', 'stop'] as const) {
    app.post(
      `/workspace/:id/workloads/:wid/${verb}`,
      {
        schema: {
          tags,
          summary: `${verb === 'start' ? 'Start (and enable)' : 'Stop (and disable)'} a workload`,
          params: WorkloadPathParams,
          response: { 200: One, ...errors },
        },
      },
      (r) => workloads.action(ctx, r.coveOwner, r.params.id, r.params.wid, verb),
    );
  }
  app.get(
    '/workspace/:id/workloads/:wid/status',
    {
      schema: {
        tags,
        summary: "A workload's status",
        params: WorkloadPathParams,
        response: { 200: relayed(WorkloadStatusResponse), ...errors },
      },
    },
    (r) => workloads.status(ctx, r.coveOwner, r.params.id, r.params.wid),
  );
  app.get(
    '/workspace/:id/workloads/:wid/logs',
    {
      schema: {
        tags,
        summary: "The end of a workload's log",
        params: WorkloadPathParams,
        querystring: WorkloadLogsQuery,
        response: { 200: relayed(WorkloadLogsResponse), ...errors },
      },
    },
    (r) => workloads.logs(ctx, r.coveOwner, r.params.id, r.params.wid, r.query.tail_lines),
  );
  app.get(
    '/workspace/:id/workloads/:wid/logs/stream',
    {
      schema: {
        tags,
        summary: "A workload's log as it grows (SSE)",
        params: WorkloadPathParams,
        querystring: WorkloadLogsQuery,
        response: errors,
      },
    },
    (r, reply) =>
      workloads.stream(
        ctx,
        r.coveOwner,
        r.params.id,
        `/workloads/${enc(r.params.wid)}/logs/stream${r.query.tail_lines ? `?tail_lines=${r.query.tail_lines}` : ''}`,
        reply,
      ),
  );
  app.get(
    '/workspace/:id/workloads/:wid/stats',
    {
      schema: {
        tags,
        summary: "A workload's processes, CPU and memory (from /proc)",
        params: WorkloadPathParams,
        response: { 200: relayed(WorkloadStatsResponse), ...errors },
      },
    },
    (r) => workloads.stats(ctx, r.coveOwner, r.params.id, r.params.wid),
  );
  app.get(
    '/workspace/:id/workloads/:wid/stats/stream',
    {
      schema: {
        tags,
        summary: "A workload's stats each interval (SSE)",
        params: WorkloadPathParams,
        querystring: WorkloadStatsStreamQuery,
        response: errors,
      },
    },
    (r, reply) =>
      workloads.stream(
        ctx,
        r.coveOwner,
        r.params.id,
        `/workloads/${enc(r.params.wid)}/stats/stream${r.query.interval_ms ? `?interval_ms=${r.query.interval_ms}` : ''}`,
        reply,
      ),
  );
  return exits;
}
