import {
  ErrorResponse,
  ExposePortBody,
  PublicPortListResponse,
  PublicPortParams,
  PublicPortResponse,
  PublicPortRevokeResponse,
  UpdateSlugBody,
  WorkspaceIdParams,
} from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { exposePort, listPorts, revokePort, updateSlug } from '../service/public-access.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

/** Public port URLs: the official SDK's `workspaces.publicAccess` (list, expose, updateSlug, revoke). */
export function publicAccessRoutes(app: ApiApp, ctx: ControlContext): void {
  const tags = ['public access'];
  app.get(
    '/workspace/:id/public-access',
    { schema: { tags, summary: 'Exposed ports', params: WorkspaceIdParams, response: { 200: PublicPortListResponse, ...errors } } },
    (r) => listPorts(ctx, r.coveOwner, r.params.id),
  );
  app.post(
    '/workspace/:id/public-access',
    {
      schema: {
        tags,
        summary: 'Expose a port at a public URL (idempotent; changes slug, label or auth of an exposed one)',
        params: WorkspaceIdParams,
        body: ExposePortBody,
        response: { 200: PublicPortResponse, ...errors },
      },
    },
    (r) => exposePort(ctx, r.coveOwner, r.params.id, r.body),
  );
  app.patch(
    '/workspace/:id/public-access/:port',
    {
      schema: {
        tags,
        summary: "Change an exposed port's slug",
        params: PublicPortParams,
        body: UpdateSlugBody,
        response: { 200: PublicPortResponse, ...errors },
      },
    },
    (r) => updateSlug(ctx, r.coveOwner, r.params.id, r.params.port, r.body),
  );
  app.delete(
    '/workspace/:id/public-access/:port',
    {
      schema: { tags, summary: 'Revoke an exposed port', params: PublicPortParams, response: { 200: PublicPortRevokeResponse, ...errors } },
    },
    (r) => revokePort(ctx, r.coveOwner, r.params.id, r.params.port),
  );
}
