import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '@cove/protocol';
import type { Exchange } from './exchange.js';

/** Any failure as an AppError: unknown ones become a 500 without details. */
export function asAppError(err: unknown): AppError {
  return err instanceof AppError ? err : new AppError('internal_error', 'internal error');
}

/** The one error body of every Cove server: `{"success":false,"error","code"}`. */
function errorJson(error: AppError): string {
  return JSON.stringify(error.toBody());
}

/** Answers an exchange with an error (or cuts it, when a response head is already out). */
export function answerError(exchange: Exchange, error: AppError): void {
  exchange.respond(
    error.status,
    { ...error.headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    errorJson(error),
  );
}

/**
 * Writes a whole error answer on a bare socket (a refused upgrade, an
 * unparsable request), then closes it. `requestId` is the request's id, or a
 * new one when no request head could be read.
 */
export function answerAndClose(socket: Duplex, error: AppError, requestId: string = randomUUID()): void {
  if (socket.destroyed || socket.writableEnded) return;
  const body = errorJson(error);
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `x-request-id: ${requestId}\r\n` +
      'Cache-Control: no-store\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
