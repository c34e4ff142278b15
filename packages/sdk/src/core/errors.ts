/**
 * Errors the SDK throws. Server answers become `APIError` subclasses chosen
 * by status; failures that never got an answer are `ConnectionError`,
 * `TimeoutError` or `AbortError`. Nothing is returned as a result that is
 * really an error.
 */
import type { ErrorCode } from '@cove/protocol';

/**
 * An error answer's code: one of the Cove registry's (`not_found`,
 * `too_many_tasks`, …), or another server's own (a proxy in between, a
 * newer server), kept as sent.
 *
 * @example
 * const code: APIErrorCode = 'not_found';
 */
export type APIErrorCode = ErrorCode | (string & {});

/**
 * Base class of every error the SDK throws.
 *
 * @example
 * try { await rt.exec.run(['true']); } catch (err) { if (err instanceof CoveError) console.error(err.message); }
 */
export class CoveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * An error answer from a Cove server.
 *
 * @example
 * try { await rt.files.read({ filePath: '/missing' }); }
 * catch (err) { if (err instanceof NotFoundError) console.log(err.status, err.code); }
 */
export class APIError extends CoveError {
  /** HTTP status. */
  readonly status: number;
  /** Machine-readable code from the body (`not_found`, `too_many_tasks`, …). */
  readonly code: APIErrorCode;
  /** The request's id (the `x-request-id` every Cove server answers with), to find it in the servers' logs. */
  readonly requestId: string | undefined;
  /** The parsed body, as the server sent it. */
  readonly body: unknown;

  constructor(status: number, code: APIErrorCode, message: string, body: unknown, requestId?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
    this.requestId = requestId;
  }
}

/**
 * 400: a parameter is missing or wrong.
 *
 * @example
 * await rt.files.read({ filePath: '' }).catch((e) => e instanceof BadRequestError && console.log(e.message));
 */
export class BadRequestError extends APIError {}
/**
 * 401: missing, wrong, expired or revoked credentials.
 *
 * @example
 * await rt.exec.list().catch((e) => e instanceof AuthenticationError && console.log('log in again'));
 */
export class AuthenticationError extends APIError {}
/**
 * 403: authenticated, but not allowed (protected path, `public_access` off, …).
 *
 * @example
 * await rt.files.delete({ path: '/usr' }).catch((e) => e instanceof PermissionDeniedError && console.log(e.code));
 */
export class PermissionDeniedError extends APIError {}
/**
 * 404: no such file, task, terminal, watcher or workspace.
 *
 * @example
 * const file = await rt.files.read({ filePath: '/app/x' }).catch((e) => (e instanceof NotFoundError ? null : Promise.reject(e)));
 */
export class NotFoundError extends APIError {}
/**
 * 409: conflicts with the current state (limits, installs in progress, existing files).
 *
 * @example
 * await rt.watcher.create({ path: '/app' }).catch((e) => e instanceof ConflictError && console.log('5 watchers already'));
 */
export class ConflictError extends APIError {}
/**
 * 413: too large to read or write in one request.
 *
 * @example
 * await rt.files.read({ filePath: '/var/log/big.log' }).catch((e) => e instanceof PayloadTooLargeError && console.log('read a line range'));
 */
export class PayloadTooLargeError extends APIError {}
/**
 * 429: too many tasks, terminals or requests.
 *
 * @example
 * await rt.terminal.create().catch((e) => e instanceof RateLimitError && console.log('close a terminal first'));
 */
export class RateLimitError extends APIError {}
/**
 * 5xx: the server failed.
 *
 * @example
 * await rt.exec.run(['no-such-binary'], { execMode: 'direct' }).catch((e) => e instanceof InternalServerError && console.log(e.code));
 */
export class InternalServerError extends APIError {}

/**
 * The request never got an answer: refused, reset, DNS, TLS.
 *
 * @example
 * if (!(await rt.health())) console.log('unreachable'); // health() never throws; other calls throw ConnectionError
 */
export class ConnectionError extends CoveError {}
/**
 * The request took longer than its `timeout`.
 *
 * @example
 * await rt.exec.run(['sleep', '60'], {}, { timeout: 1_000 }).catch((e) => e instanceof TimeoutError && console.log('too slow'));
 */
export class TimeoutError extends CoveError {}
/**
 * The caller's `AbortSignal` fired.
 *
 * @example
 * const ac = new AbortController(); ac.abort();
 * await rt.exec.list({ signal: ac.signal }).catch((e) => e instanceof AbortError && console.log('cancelled'));
 */
export class AbortError extends CoveError {}

const BY_STATUS: Record<number, typeof APIError> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  429: RateLimitError,
};

/**
 * Builds the right `APIError` subclass for an error answer. `headerRequestId`
 * is the answer's `x-request-id`; a body's `requestId` or `request_id` (other
 * servers) stands in when there is none.
 *
 * @example
 * const err = apiErrorFrom(404, { success: false, error: 'not found: /x', code: 'not_found' }, 'req-1'); // NotFoundError
 */
export function apiErrorFrom(status: number, body: unknown, headerRequestId?: string): APIError {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code: APIErrorCode = typeof record.code === 'string' ? record.code : defaultCode(status);
  const fromBody = record.requestId ?? record.request_id;
  const requestId = headerRequestId ?? (typeof fromBody === 'string' ? fromBody : undefined);
  const message =
    typeof record.error === 'string'
      ? record.error
      : typeof record.message === 'string'
        ? record.message
        : `request failed with status ${status}`;
  const Kind = BY_STATUS[status] ?? (status >= 500 ? InternalServerError : APIError);
  return new Kind(status, code, message, body, requestId);
}

function defaultCode(status: number): ErrorCode {
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'internal_error';
  return 'bad_request';
}
