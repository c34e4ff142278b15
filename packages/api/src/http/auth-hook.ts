import { sendError } from '@cove/http';
import { AppError } from '@cove/protocol';
import { authenticate } from '../auth/credentials.js';
import type { Store } from '../store/store.js';
import type { ApiApp } from './app-types.js';

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Another way in for requests without client credentials: the owner, an error, or undefined (not its kind). */
export type AlternateAuth = (request: { headers: Record<string, string | string[] | undefined> }) => Promise<string | AppError | undefined>;

/**
 * Every request but the public ones carries `X-Client-ID` and
 * `X-Client-Secret`. 401 means exactly "these credentials are not valid"
 * (the official CLI wipes its stored credentials on a 401), so policy
 * refusals elsewhere are 403/404/409, never 401.
 */
export function installAuth(app: ApiApp, store: Store, alternate?: AlternateAuth): void {
  app.decorateRequest('coveOwner', '');
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.public) return;
    const clientId = header(request.headers['x-client-id']);
    const secret = header(request.headers['x-client-secret']);
    if (clientId === undefined && secret === undefined) {
      // The console's own calls: its session cookie, checked with its CSRF header (service/console-sessions.ts).
      const other = await alternate?.(request);
      if (other instanceof AppError) return sendError(reply, other);
      if (other !== undefined) {
        request.coveOwner = other;
        return;
      }
      const bearer = /^Bearer\s/i.test(header(request.headers.authorization) ?? '');
      return sendError(
        reply,
        new AppError(
          'unauthorized',
          bearer
            ? 'bearer tokens are not accepted by this control plane; send X-Client-ID and X-Client-Secret'
            : 'missing credentials: send X-Client-ID and X-Client-Secret',
        ),
      );
    }
    const owner = await authenticate(store, clientId, secret);
    if (owner === undefined) return sendError(reply, new AppError('unauthorized', 'invalid client credentials'));
    request.coveOwner = owner;
  });
}
