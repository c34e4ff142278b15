import {
  ApiAccessStatusResponse,
  ErrorResponse,
  GatewayTokenResponse,
  RawTokenResponse,
  SuccessResponse,
  WorkspaceIdParams,
} from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import {
  accessStatus,
  currentToken,
  disableAccess,
  enableAccess,
  rawToken,
  reconnect,
  rotateToken,
  workspaceToken,
} from '../service/api-access.js';
import type { ControlContext } from '../service/context.js';

/** The reference's path and the official SDK's (COMPAT §6 #1): both serve the same endpoints. */
export const ACCESS_PREFIXES = ['internal-api-access', 'runtime-api-access'] as const;

const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

/** Internal API access: the reference's "Full API access reference" table, plus `GET …/token`. */
export function accessRoutes(app: ApiApp, ctx: ControlContext): void {
  for (const prefix of ACCESS_PREFIXES) {
    const base = `/workspace/:id/${prefix}`;
    const tags = ['internal api access'];
    const params = WorkspaceIdParams;
    app.get(base, { schema: { tags, summary: 'Server status', params, response: { 200: ApiAccessStatusResponse, ...errors } } }, (r) =>
      accessStatus(ctx, r.coveOwner, r.params.id),
    );
    app.post(
      `${base}/enable`,
      { schema: { tags, summary: 'Enable server (idempotent)', params, response: { 200: GatewayTokenResponse, ...errors } } },
      (r) => enableAccess(ctx, r.coveOwner, r.params.id),
    );
    app.post(
      `${base}/disable`,
      { schema: { tags, summary: 'Disable server, revoke every token', params, response: { 200: SuccessResponse, ...errors } } },
      (r) => disableAccess(ctx, r.coveOwner, r.params.id),
    );
    app.post(
      `${base}/token`,
      { schema: { tags, summary: 'Rotate token', params, response: { 200: GatewayTokenResponse, ...errors } } },
      (r) => rotateToken(ctx, r.coveOwner, r.params.id),
    );
    app.get(
      `${base}/token`,
      {
        schema: {
          tags,
          summary: 'A fresh JWT of the current generation (no rotation)',
          params,
          response: { 200: GatewayTokenResponse, ...errors },
        },
      },
      (r) => currentToken(ctx, r.coveOwner, r.params.id),
    );
    app.get(
      `${base}/token/raw`,
      { schema: { tags, summary: 'Raw token + IP', params, response: { 200: RawTokenResponse, ...errors } } },
      (r) => rawToken(ctx, r.coveOwner, r.params.id),
    );
    app.post(
      `${base}/reconnect`,
      { schema: { tags, summary: 'Reconnect', params, response: { 200: GatewayTokenResponse, ...errors } } },
      (r) => reconnect(ctx, r.coveOwner, r.params.id),
    );
    app.post(
      `${base}/workspace`,
      { schema: { tags, summary: '30-day token', params, response: { 200: GatewayTokenResponse, ...errors } } },
      (r) => workspaceToken(ctx, r.coveOwner, r.params.id),
    );
  }
}
