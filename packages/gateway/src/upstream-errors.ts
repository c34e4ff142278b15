import { AppError } from '@cove/protocol';

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT', 'GATEWAY_TIMEOUT']);

/** What the caller is told when the agent could not be reached or did not answer in time. */
export function upstreamError(err: unknown): AppError {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new AppError('gateway_timeout', 'the workspace agent did not answer in time');
  }
  if (code === 'UPSTREAM_PROTOCOL') return new AppError('bad_gateway', 'the workspace agent sent an invalid answer');
  const detail = typeof code === 'string' ? ` (${code})` : '';
  return new AppError('bad_gateway', `the workspace agent is unreachable${detail}`);
}
