// Waking a workspace from a gateway in another process (`cove gateway` beside `cove api`, on one store): the
// gateway calls the control plane's `POST /internal/wake/:id`, signed with what only gateways and control
// planes have — the gateway JWT secret they already share from the store. Both ends of the exchange are here,
// so that its format has one definition: the signature and its check, and the gateway's client.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError, ERROR_STATUS, type ErrorCode } from '@cove/protocol';

/** The route the gateway calls; `:id` is the workspace. */
export const INTERNAL_WAKE_PATH = '/internal/wake';
/** `t=<unix seconds>,sig=<hex HMAC-SHA256>`. */
export const INTERNAL_WAKE_HEADER = 'x-cove-wake-signature';
/** How far a signature's time may be from the control plane's clock, in seconds (either way). */
export const INTERNAL_WAKE_WINDOW_SECONDS = 60;

/**
 * The key is derived from the JWT secret rather than the secret itself, so that nothing signed for one use
 * (a JWT) can pass for the other (a wake).
 */
function wakeKey(secret: Uint8Array): Buffer {
  return createHmac('sha256', secret).update('cove internal wake v1').digest();
}

function signature(secret: Uint8Array, workspaceId: string, seconds: number): string {
  return createHmac('sha256', wakeKey(secret)).update(`POST ${INTERNAL_WAKE_PATH}/${workspaceId}\n${seconds}`).digest('hex');
}

/** The header value a gateway sends to wake `workspaceId` now. */
export function signWake(secret: Uint8Array, workspaceId: string, now = Date.now()): string {
  const seconds = Math.floor(now / 1000);
  return `t=${seconds},sig=${signature(secret, workspaceId, seconds)}`;
}

/**
 * Checks a wake's header: signed for this workspace with the shared secret, within the time window. A replay
 * inside the window can only wake what a gateway asked to wake moments before.
 */
export function verifyWake(secret: Uint8Array, workspaceId: string, header: string | undefined, now = Date.now()): void {
  const match = /^t=(\d{1,12}),sig=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) throw new AppError('unauthorized', `internal wake: missing or malformed ${INTERNAL_WAKE_HEADER} header`);
  const seconds = Number(match[1]);
  if (Math.abs(now / 1000 - seconds) > INTERNAL_WAKE_WINDOW_SECONDS) {
    throw new AppError('unauthorized', 'internal wake: the signature has expired (are the clocks of gateway and control plane apart?)');
  }
  const expected = Buffer.from(signature(secret, workspaceId, seconds), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(match[2] as string, 'hex'))) {
    throw new AppError('unauthorized', 'internal wake: the signature does not match');
  }
}

/** How long a gateway waits for one wake before giving up on it (its held requests have their own deadline). */
const CLIENT_TIMEOUT_MS = 5 * 60_000;

/**
 * The gateway's side: a `RouteSource.wake` that asks the control plane at `apiUrl` to wake a workspace and
 * resolves once it serves. The control plane's refusals come back as the same errors (a user-stopped workspace
 * stays refused); a control plane that cannot be reached is `service_unavailable`.
 */
export function internalWakeClient(apiUrl: string, secret: Uint8Array): (workspaceId: string) => Promise<void> {
  const base = apiUrl.replace(/\/+$/, '');
  return async (workspaceId) => {
    let res: Response;
    try {
      res = await fetch(`${base}${INTERNAL_WAKE_PATH}/${encodeURIComponent(workspaceId)}`, {
        method: 'POST',
        headers: { [INTERNAL_WAKE_HEADER]: signWake(secret, workspaceId) },
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
    } catch (err) {
      throw new AppError(
        'service_unavailable',
        `the control plane (${base}) could not be asked to wake the workspace: ${(err as Error).message}`,
      );
    }
    const body = (await res.json().catch(() => undefined)) as { success?: boolean; code?: string; error?: string } | undefined;
    if (res.ok && body?.success === true) return;
    if (body?.code !== undefined && body.code in ERROR_STATUS && typeof body.error === 'string')
      throw new AppError(body.code as ErrorCode, body.error);
    throw new AppError('service_unavailable', `the control plane (${base}) answered ${res.status} to a wake`);
  };
}
