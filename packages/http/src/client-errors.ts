import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, REQUEST_ID_HEADER, requestIdFrom } from '@cove/protocol';
import type { FastifyInstance } from 'fastify';

/**
 * Fastify's `clientErrorHandler`: a request Node could not even parse (a
 * malformed head, one too large, one too slow) is answered like every other
 * error — the Cove error body with a code, and a fresh `x-request-id` (no
 * header could be read) — then the connection closes.
 */
export function answerClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A connection reset or an already destroyed socket has no one left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('request_timeout', 'the request did not arrive in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('headers_too_large', 'request head too large')
        : new AppError('bad_request', `malformed HTTP request (${err.code ?? 'parse error'})`);
  const id = requestIdFrom(undefined);
  this.log.debug({ err, reqId: id }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify(error.toBody());
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${REQUEST_ID_HEADER}: ${id}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
