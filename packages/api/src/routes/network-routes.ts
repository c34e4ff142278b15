import { ErrorResponse, NetworkResponse, NetworkUpdateBody, WorkspaceIdParams } from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { getNetwork, updateNetwork } from '../service/network.js';

const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse };

/** Network settings; `PATCH` is what the SDK sends, `POST` what the reference's paraphrase shows. */
export function networkRoutes(app: ApiApp, ctx: ControlContext): void {
  const tags = ['network'];
  app.get(
    '/workspace/:id/network',
    { schema: { tags, summary: 'Network settings', params: WorkspaceIdParams, response: { 200: NetworkResponse, ...errors } } },
    (r) => getNetwork(ctx, r.coveOwner, r.params.id),
  );
  for (const method of ['PATCH', 'POST'] as const) {
    app.route({
      method,
      url: '/workspace/:id/network',
      schema: {
        tags,
        summary: 'Update network settings (partial)',
        params: WorkspaceIdParams,
        body: NetworkUpdateBody,
        response: { 200: NetworkResponse, ...errors },
      },
      handler: (r) => updateNetwork(ctx, r.coveOwner, r.params.id, r.body),
    });
  }
}
