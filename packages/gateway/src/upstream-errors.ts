import { AppError } from '@cove/protocol';

/** Nothing accepts connections at the agent's address: its process is gone (dead, or being restarted). */
const DOWN_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
/**
 * A kept-alive connection broke before any answer to a request that cannot be sent again (it had a body): the
 * agent died with it, or closed it just as the request went out. Either way nothing was answered; a retry may do.
 */
const DROPPED_CODES = new Set(['EPIPE', 'ECONNRESET']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT', 'GATEWAY_TIMEOUT']);

/** What the caller is told when the agent could not be reached or did not answer in time. */
export function upstreamError(err: unknown): AppError {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new AppError('gateway_timeout', 'the workspace agent did not answer in time');
  }
  if (typeof code === 'string' && DOWN_CODES.has(code)) {
    // Not a bad answer but no server: a temporary state the caller may retry (the control plane restarts the
    // agent per the workspace's restart policy, or reports the workspace stopped).
    return new AppError('agent_unavailable', `the workspace agent is not running (${code}); retry shortly or check the workspace's status`);
  }
  if (typeof code === 'string' && DROPPED_CODES.has(code)) {
    return new AppError('agent_unavailable', `the workspace agent closed the connection without answering (${code}); retry shortly`);
  }
  if (code === 'UPSTREAM_PROTOCOL') return new AppError('bad_gateway', 'the workspace agent sent an invalid answer');
  const detail = typeof code === 'string' ? ` (${code})` : '';
  return new AppError('bad_gateway', `the workspace agent is unreachable${detail}`);
}
