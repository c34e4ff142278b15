import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, REQUEST_ID_HEADER } from '@cove/protocol';

/** Errors that mean nothing answers on the target port. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EADDRNOTAVAIL', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** 502 `proxy_target_unreachable`: the app could not be reached, or broke off before answering. */
export function targetFailure(code: string | undefined, label: string): AppError {
  const why = code ?? 'error';
  const message = UNREACHABLE.has(why) ? `nothing answers on ${label}` : `proxy target ${label} failed`;
  return new AppError('proxy_target_unreachable', `${message} (${why})`);
}

/**
 * Answers a proxied request the proxy itself refuses (bad target, no token,
 * app unreachable) with the usual error body and the request's id. The
 * request's body is not read: the connection closes after the answer, as an
 * unread body cannot be skipped safely.
 */
export function writeProxyError(res: ServerResponse, error: AppError, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(error.toBody());
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [REQUEST_ID_HEADER]: requestId,
    ...error.headers,
  };
  if (!res.req.complete) {
    headers.connection = 'close';
    res.shouldKeepAlive = false;
  }
  res.writeHead(error.status, headers);
  res.end(body);
}

/** The same for an upgrade request, written on the raw socket, which then closes. */
export function writeUpgradeError(socket: Duplex, error: AppError, requestId: string): void {
  const body = JSON.stringify(error.toBody());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
