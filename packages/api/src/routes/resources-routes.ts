import { ErrorResponse, ResourcesResponse, ResourcesUpdateBody, WorkspaceIdParams } from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { getResources, updateResources } from '../service/resources.js';

const tags = ['resources'];
const params = WorkspaceIdParams;
const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

/** The official SDK's `resources` resource: CPUs, memory and disk after creation (service/resources.ts). */
export function resourcesRoutes(app: ApiApp, ctx: ControlContext): void {
  app.get(
    '/workspace/:id/resources',
    {
      schema: {
        tags,
        summary: "The workspace's CPUs, memory and disk, and the account's use against its caps",
        params,
        response: { 200: ResourcesResponse, ...errors },
      },
    },
    (r) => getResources(ctx, r.coveOwner, r.params.id),
  );
  // PUT and PATCH alike: the sizes named change, the others stay (the official SDK's CLI sends a subset to PUT).
  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/workspace/:id/resources',
      schema: {
        tags,
        summary: 'Change CPUs, memory or disk: live on a running workspace where the driver can, else at its next start; a disk only grows',
        params,
        body: ResourcesUpdateBody,
        response: { 200: ResourcesResponse, ...errors },
      },
      handler: (r) => updateResources(ctx, r.coveOwner, r.params.id, r.body),
    });
  }
}
