/**
 * The one error model of every Cove server (agent, gateway, control plane).
 *
 * A server throws `new AppError(code, message)`; one handler writes
 * `{"success": false, "error": message, "code": code}` with the status the
 * registry gives the code. `success: false` is what the official SDK's data
 * plane looks for to treat a body as an error, whatever the HTTP status.
 */

/** Every error code a Cove server may answer with. */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'protected_path'
  | 'not_found'
  | 'request_timeout'
  | 'method_not_allowed'
  | 'conflict'
  | 'already_exists'
  | 'install_in_progress'
  | 'watcher_limit'
  | 'payload_too_large'
  | 'headers_too_large'
  | 'unsupported_media_type'
  | 'range_not_satisfiable'
  | 'rate_limited'
  | 'too_many_tasks'
  | 'task_not_running'
  | 'too_many_terminals'
  | 'internal_error'
  | 'failed_to_start'
  | 'watcher_failed'
  | 'ripgrep_not_installed'
  | 'search_timeout'
  | 'install_failed'
  | 'bad_gateway'
  | 'proxy_target_unreachable'
  | 'service_unavailable'
  | 'no_free_address'
  | 'wake_timeout'
  | 'gateway_timeout'
  | 'insufficient_storage'
  | 'agent_unavailable'
  | 'store_unavailable';

/** HTTP status per code. Adding a code without a status fails to compile. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  protected_path: 403,
  not_found: 404,
  request_timeout: 408,
  method_not_allowed: 405,
  conflict: 409,
  already_exists: 409,
  install_in_progress: 409,
  watcher_limit: 409,
  payload_too_large: 413,
  headers_too_large: 431,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  rate_limited: 429,
  too_many_tasks: 429,
  task_not_running: 409,
  too_many_terminals: 429,
  internal_error: 500,
  failed_to_start: 500,
  watcher_failed: 500,
  bad_gateway: 502,
  // `/proxy`: nothing listens on the app port asked for (connection refused or reset before an answer).
  proxy_target_unreachable: 502,
  ripgrep_not_installed: 503,
  service_unavailable: 503,
  // A capacity limit of the host, not a fault: every private address of the driver's subnet is taken.
  no_free_address: 503,
  // A sleeping workspace (paused, suspended or stopped by its idle policy) did not wake within the gateway's deadline.
  wake_timeout: 503,
  search_timeout: 504,
  install_failed: 503,
  gateway_timeout: 504,
  // The host's data volume (or the disk reserve a create needs on it) is full: nothing was changed; retry once space is freed.
  insufficient_storage: 507,
  // The workspace's agent is not running (it died, or is being restarted by its policy): refused connections, not a bad answer.
  agent_unavailable: 503,
  // The control plane's store (PostgreSQL) cannot be reached: the request did nothing; retry.
  store_unavailable: 503,
};

/** The body of every error response. */
export interface ErrorBody {
  success: false;
  error: string;
  code: ErrorCode;
}

/** An error a server answers with: a registered code and a human message. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers (for example `Allow` on a 405). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.headers = headers;
  }

  toBody(): ErrorBody {
    return { success: false, error: this.message, code: this.code };
  }
}

/** Whether a value is an error code of the registry. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** Shorthand for the most common client error: a parameter that is missing or wrong. */
export function badParam(name: string, problem: string): AppError {
  return new AppError('bad_request', `invalid parameter '${name}': ${problem}`);
}
