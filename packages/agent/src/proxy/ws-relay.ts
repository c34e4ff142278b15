import http, { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '@cove/protocol';
import type { Logger } from 'pino';
import { requestHeadersForApp, responseHeadersForCaller } from './forward-headers.js';
import { writeUpgradeError } from './proxy-errors.js';
import type { ProxyRoute } from './proxy-request.js';

/**
 * Relays an upgrade (WebSocket or any other protocol) to the app: the
 * handshake goes to the app with its own connection; on `101` the head is
 * relayed and the two sockets are piped raw both ways (frames are never
 * parsed, binary and text alike, with `pipe`'s backpressure). An app that
 * answers anything else gets that answer relayed, then the connection closes.
 * `tunnels` holds live pairs so the agent can cut them when it closes.
 */
export function relayUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  route: ProxyRoute,
  requestId: string,
  tokenProtocols: ReadonlySet<string>,
  tunnels: Set<Duplex>,
  log: Logger,
): void {
  const upstream = http.request({
    host: route.target.host,
    port: route.target.port,
    method: req.method,
    path: route.path,
    headers: requestHeadersForApp(req.rawHeaders, requestId, { upgrade: true, tokenProtocols }) as unknown as http.OutgoingHttpHeaders,
    agent: false,
    setHost: false,
  });
  let settled = false;
  socket.on('error', () => upstream.destroy());
  socket.on('close', () => {
    if (!settled) upstream.destroy();
  });

  upstream.on('upgrade', (upRes, upSocket, upHead) => {
    settled = true;
    if (socket.destroyed) {
      upSocket.destroy();
      return;
    }
    socket.write(statusLine(upRes) + headerLines(responseHeadersForCaller(upRes.rawHeaders, requestId, { upgrade: true })));
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) upSocket.write(head);
    tunnels.add(socket);
    tunnels.add(upSocket);
    const cut = () => {
      tunnels.delete(socket);
      tunnels.delete(upSocket);
      socket.destroy();
      upSocket.destroy();
    };
    socket.on('close', cut);
    upSocket.on('close', cut);
    upSocket.on('error', cut);
    socket.on('error', cut);
    upSocket.pipe(socket);
    socket.pipe(upSocket);
  });

  upstream.on('response', (upRes) => {
    // The app declined the upgrade: its answer goes back as it is, close-delimited.
    settled = true;
    // Its Content-Length (if any) still holds; without one the body is delimited by the close.
    const headers = responseHeadersForCaller(upRes.rawHeaders, requestId);
    socket.write(`${statusLine(upRes)}${headerLines([...headers, 'Connection', 'close'])}`);
    upRes.pipe(socket);
    upRes.on('error', () => socket.destroy());
  });

  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (settled) return;
    settled = true;
    log.debug({ reqId: requestId, target: route.target.label, code: err.code }, 'proxy upgrade target unreachable');
    writeUpgradeError(
      socket,
      new AppError('proxy_target_unreachable', `nothing answers on ${route.target.label} (${err.code ?? 'error'})`),
      requestId,
    );
  });

  upstream.end();
}

function statusLine(res: IncomingMessage): string {
  const status = res.statusCode ?? 502;
  return `HTTP/1.1 ${status} ${res.statusMessage || STATUS_CODES[status] || ''}\r\n`;
}

function headerLines(raw: readonly string[]): string {
  let out = '';
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${out}\r\n`;
}
