import { AppError, type ErrorCode } from '@cove/protocol';
import { AbortError, APIError, ConnectionError, TimeoutError } from '@cove/sdk';

/** A failed call as the MCP client sees it: `isError`, the code, and what to do about it. */
export interface ToolFailure {
  code: string;
  message: string;
  /** The HTTP status the server answered with, when a server answered. */
  status?: number;
  /** The server's request id, to find the call in its logs. */
  request_id?: string;
}

/** An error a tool raises itself (an edit that does not apply, a name that matches nothing), with a protocol code. */
export function toolError(code: ErrorCode, message: string): AppError {
  return new AppError(code, message);
}

/**
 * What went wrong, in the server's words: its code and message, with the fix added where the fix is known
 * (a workspace the gateway refuses because its network is closed).
 */
export function describeFailure(err: unknown, workspace?: string): ToolFailure {
  if (err instanceof AppError) return { code: err.code, message: err.message, status: err.status };
  if (err instanceof APIError) {
    let message = err.message;
    if (err.status === 403 && /public_access/.test(message)) {
      const id = workspace ?? 'WORKSPACE';
      message +=
        `. Turn it on with the workspace_network tool ({"workspace": "${id}", "public_access": true})` +
        ` or \`cove network set ${id} --public-access\`; workspace_create turns it on unless told otherwise`;
    }
    return {
      code: String(err.code),
      message,
      status: err.status,
      ...(err.requestId !== undefined ? { request_id: err.requestId } : {}),
    };
  }
  if (err instanceof TimeoutError) return { code: 'gateway_timeout', message: err.message };
  if (err instanceof ConnectionError) return { code: 'service_unavailable', message: `cannot reach Cove: ${err.message}` };
  if (err instanceof AbortError) return { code: 'request_timeout', message: 'the call was cancelled' };
  return { code: 'internal_error', message: err instanceof Error ? err.message : String(err) };
}
