import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { bearerToken, offeredProtocols, REQUEST_ID_HEADER, requestIdFrom, subprotocolToken } from '@cove/protocol';
import type { TokenStore } from '../auth/token-store.js';

/**
 * The token of an upgrade request: `Authorization: Bearer`, `?token=`
 * (browsers and the official SDK) or a `Sec-WebSocket-Protocol` value
 * (`bearer.<token>`, or the bare token offered beside `bearer`), because a
 * browser cannot set headers on a WebSocket.
 */
export function upgradeToken(request: IncomingMessage): string | undefined {
  const header = bearerToken(request.headers.authorization);
  if (header) return header;
  const url = new URL(request.url ?? '/', 'http://localhost');
  const query = url.searchParams.get('token');
  if (query) return query;
  const offered = request.headers['sec-websocket-protocol'];
  return subprotocolToken(offeredProtocols(typeof offered === 'string' ? offered : undefined));
}

/**
 * The subprotocol to answer. A browser fails the connection unless one of
 * the offered values comes back, so one is always chosen — a non-secret one
 * (`bearer`, or anything that is not the token) whenever it was offered.
 */
export function selectProtocol(protocols: Set<string>, tokens: TokenStore): string | false {
  if (protocols.has('bearer')) return 'bearer';
  for (const p of protocols) if (!p.startsWith('bearer.') && !tokens.verify(p)) return p;
  const first = protocols.values().next();
  return first.done ? false : first.value;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' };

/** The upgrade request's id (see `requestIdFrom`), made once per request. */
const upgradeIds = new WeakMap<IncomingMessage, string>();
export function upgradeRequestId(request: IncomingMessage): string {
  let id = upgradeIds.get(request);
  if (id === undefined) {
    id = requestIdFrom(request.headers[REQUEST_ID_HEADER]);
    upgradeIds.set(request, id);
  }
  return id;
}

/** Refuses an upgrade with a plain HTTP answer carrying the usual error body and the request's id. */
export function rejectUpgrade(socket: Duplex, status: number, code: string, message: string, requestId: string): void {
  const body = JSON.stringify({ success: false, error: message, code });
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
