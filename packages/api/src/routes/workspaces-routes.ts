import {
  ErrorResponse,
  EstimateQuery,
  EstimateResponse,
  PingBody,
  QuotaResponse,
  WorkspaceCreateBody,
  WorkspaceEnvelope,
  WorkspaceIdParams,
  WorkspaceListQuery,
  WorkspaceListResponse,
  WorkspaceUpdateBody,
} from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { ownedWorkspace } from '../service/context.js';
import { createLifecyclePlan } from '../service/lifecycle-policy.js';
import { presentWorkspace } from '../service/present.js';
import {
  createWorkspace,
  DEFAULTS,
  deleteWorkspace,
  listWorkspaces,
  type PowerVerb,
  pingWorkspace,
  power,
  quota,
  renameWorkspace,
} from '../service/workspaces.js';

const tags = ['workspaces'];
const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

/** Workspaces: create, read, list, update, power verbs, delete (COMPAT §2 envelope). */
export function workspacesRoutes(app: ApiApp, ctx: ControlContext): void {
  const envelope = (ws: Parameters<typeof presentWorkspace>[0], extra: Record<string, unknown> = {}) => ({
    success: true as const,
    workspace: presentWorkspace(ws, ctx.driver),
    ...extra,
  });

  app.post(
    '/workspace',
    {
      schema: { tags, summary: 'Create and start a workspace', body: WorkspaceCreateBody, response: { 201: WorkspaceEnvelope, ...errors } },
    },
    async (request, reply) => {
      // Lifecycle fields (mode, ttl, idle, …) are checked before anything is made, and applied once it exists.
      const lifecycle = createLifecyclePlan(request.body);
      const ws = await createWorkspace(ctx, request.coveOwner, request.body);
      await ctx.lifecycle?.created(ws, lifecycle);
      return reply.code(201).send(envelope(ws));
    },
  );

  app.get(
    '/workspace',
    { schema: { tags, summary: 'List workspaces', querystring: WorkspaceListQuery, response: { 200: WorkspaceListResponse, ...errors } } },
    async (request) => {
      const { page, limit, status } = request.query;
      const { items, total } = await listWorkspaces(ctx, request.coveOwner, { page, limit, ...(status ? { status } : {}) });
      return { success: true as const, workspaces: items.map((w) => presentWorkspace(w, ctx.driver)), total, page, limit };
    },
  );

  app.get(
    '/workspace/quota',
    { schema: { tags, summary: 'Usage and limits of this account', response: { 200: QuotaResponse } } },
    async (request) => ({
      success: true as const,
      quota: await quota(ctx, request.coveOwner),
    }),
  );

  app.get(
    '/workspace/estimate',
    {
      schema: {
        tags,
        summary: 'Cost of a workspace size (self-hosted: none)',
        querystring: EstimateQuery,
        response: { 200: EstimateResponse, ...errors },
      },
    },
    async (request) => {
      const q = request.query;
      return {
        success: true as const,
        estimate: {
          cpus: q.cpus ?? q.cpu ?? DEFAULTS.cpus,
          ram_mb: q.ram_mb ?? q.memory_mb ?? DEFAULTS.memoryMb,
          disk_mb: q.disk_mb ?? DEFAULTS.diskMb,
          // A self-hosted control plane bills nothing; the fields exist so clients that show a price can show 0.
          cost: 0,
          currency: null,
          billing: 'self-hosted',
        },
      };
    },
  );

  app.get(
    '/workspace/:id',
    { schema: { tags, summary: 'Get a workspace', params: WorkspaceIdParams, response: { 200: WorkspaceEnvelope, ...errors } } },
    async (request) => envelope(await ownedWorkspace(ctx, request.coveOwner, request.params.id)),
  );

  app.get(
    '/workspace/:id/details',
    { schema: { tags, summary: 'A workspace with its access and network state', params: WorkspaceIdParams } },
    async (request) => {
      const ws = await ownedWorkspace(ctx, request.coveOwner, request.params.id);
      return envelope(ws, {
        network: {
          public_access: ws.network.publicAccess,
          allow_internet: ws.network.allowInternet,
          private_link_ids: ws.network.privateLinkIds,
        },
        internal_api_access: { enabled: ws.accessEnabled, running: ctx.driver.agentRunning(ws.id), token_generation: ws.generation },
      });
    },
  );

  app.put(
    '/workspace/:id',
    {
      schema: {
        tags,
        summary: 'Rename a workspace',
        params: WorkspaceIdParams,
        body: WorkspaceUpdateBody,
        response: { 200: WorkspaceEnvelope, ...errors },
      },
    },
    async (request) => envelope(await renameWorkspace(ctx, request.coveOwner, request.params.id, request.body.name)),
  );

  app.delete(
    '/workspace/:id',
    {
      schema: { tags, summary: 'Stop and delete a workspace', params: WorkspaceIdParams, response: { 200: WorkspaceEnvelope, ...errors } },
    },
    async (request) => {
      const ws = await deleteWorkspace(ctx, request.coveOwner, request.params.id);
      return envelope(ws, { id: ws.id, deleted: true, accepted: false });
    },
  );

  for (const verb of ['start', 'stop', 'restart', 'pause', 'resume'] as const satisfies readonly PowerVerb[]) {
    app.post(
      `/workspace/:id/${verb}`,
      {
        schema: {
          tags,
          summary: `${verb[0]?.toUpperCase()}${verb.slice(1)} a workspace`,
          params: WorkspaceIdParams,
          response: { 200: WorkspaceEnvelope, ...errors },
        },
      },
      async (request) => {
        const ws = await power(ctx, request.coveOwner, request.params.id, verb);
        return envelope(ws, { action: verb, status: ws.status });
      },
    );
  }

  app.post(
    '/workspace/:id/ping',
    {
      schema: {
        tags,
        summary: 'Record activity on a workspace',
        params: WorkspaceIdParams,
        body: PingBody,
        response: { 200: WorkspaceEnvelope, ...errors },
      },
    },
    async (request) => {
      const ws = await pingWorkspace(ctx, request.coveOwner, request.params.id, request.body.ttl_seconds);
      const expiresAt = (await ctx.store.getLifecycle(ws.id))?.expiresAt;
      return envelope(ws, { pinged_at: ws.lastPingAt, status: ws.status, ...(expiresAt ? { expires_at: expiresAt } : {}) });
    },
  );
}
