import { ErrorResponse, WorkspaceIdParams } from '@cove/protocol';
import { Type } from '@sinclair/typebox';
import { INTERNAL_WAKE_HEADER, INTERNAL_WAKE_PATH, verifyWake } from '../auth/internal-wake.js';
import type { ApiApp } from '../http/app-types.js';
import type { Lifecycle } from '../service/lifecycle.js';

const WakeResponse = Type.Object({ success: Type.Literal(true), workspace_id: Type.String() });

/**
 * `POST /internal/wake/:id`: a gateway in another process wakes a sleeping workspace for a request it holds
 * (auth/internal-wake.ts). No client credentials: the caller proves with the shared gateway secret that it is a
 * gateway. Answers once the workspace serves; refusals are the lifecycle's (a user-stopped workspace: 503).
 */
export function internalWakeRoutes(app: ApiApp, lifecycle: Lifecycle, secret: Uint8Array): void {
  app.post(
    `${INTERNAL_WAKE_PATH}/:id`,
    {
      config: { public: true },
      schema: {
        hide: true,
        tags: ['internal'],
        summary: "Wake a sleeping workspace for a gateway's request (signed with the gateway secret)",
        params: WorkspaceIdParams,
        response: { 200: WakeResponse, 401: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request) => {
      const header = request.headers[INTERNAL_WAKE_HEADER];
      verifyWake(secret, request.params.id, Array.isArray(header) ? header[0] : header);
      await lifecycle.wake(request.params.id);
      return { success: true as const, workspace_id: request.params.id };
    },
  );
}
