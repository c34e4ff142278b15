import { ErrorResponse, WorkspaceEnvelope, WorkspaceIdParams } from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { ownedWorkspace } from '../service/context.js';
import { presentWorkspace } from '../service/present.js';
import { retryProvisioning } from '../service/provisioning.js';

/** The official SDK's `workspaces.retryCreation(id)`: runs a create whose image pull failed again. */
export function provisioningRoutes(app: ApiApp, ctx: ControlContext): void {
  app.post(
    '/workspace/:id/provisioning/retry',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Retry a failed provisioning (the image pull, then the first boot), in the background',
        params: WorkspaceIdParams,
        response: { 200: WorkspaceEnvelope, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const ws = await ownedWorkspace(ctx, request.coveOwner, request.params.id);
      retryProvisioning(ctx.driver, ws.id);
      return { success: true as const, workspace: presentWorkspace(ws, ctx.driver) };
    },
  );
}
