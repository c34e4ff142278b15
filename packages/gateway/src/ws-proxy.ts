import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AppError, bearerToken, offeredProtocols, redactUrl, subprotocolToken, upgradeOriginAllowed } from '@cove/protocol';
import type { RequestHead, UpstreamPools } from '@cove/wire';
import { asAppError, answerAndClose as rejectUpgrade } from '@cove/wire';
import type { Logger } from 'pino';
import type { Authorizer, Upstream } from './authorizer.js';
import { upstreamUpgradeHeaders } from './forward-headers.js';
import type { PublicPorts } from './public-ports.js';
import { CLOSE_OF, type CutReason, type RelayedTunnel, type Relays } from './relays.js';
import { upstreamError } from './upstream-errors.js';
import { closeFrame, FrameBoundaries } from './ws-frames.js';

/** How long a caller told to close has to answer with its own close before the connection is cut (ms). */
const CLOSE_WAIT_MS = 5_000;
/** Idle time before TCP keepalive probes the agent's side of a tunnel (ms): see `UpstreamConnection`. */
const KEEPALIVE_MS = 10_000;
/** What a caller is told when the agent's side of its WebSocket ended without a close frame. */
const AGENT_LEFT = { code: 1011, reason: 'the workspace agent closed the connection' };

export interface WsProxyDeps {
  authorizer: Authorizer;
  pools: UpstreamPools;
  log: Logger;
  allowedOrigins: readonly string[];
  /** Tunnels by workspace, so that they can be ended when it dies and when the gateway closes. */
  relays: Relays;
  /** Exposed ports, served by host name; their upgrades skip the JWT and Origin rules below. */
  publicPorts?: PublicPorts | undefined;
}

/** What a tunnel needs of the gateway. */
export interface TunnelDeps {
  pools: UpstreamPools;
  log: Logger;
  relays: Relays;
}

/**
 * The gateway's `upgrade` handler. After the same checks as a plain request
 * (plus the Origin of browsers, against cross-site WebSocket hijacking), it
 * performs the handshake with the agent itself, relays the agent's 101 to
 * the caller and then pipes raw bytes both ways: frames are never parsed,
 * and TCP backpressure flows end to end.
 */
export function wsProxy(deps: WsProxyDeps): (req: RequestHead, socket: Duplex, head: Buffer) => void {
  const { authorizer, log } = deps;

  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = req.url;
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      rejectUpgrade(socket, new AppError('bad_request', 'only WebSocket upgrades are supported'), req.requestId);
      return;
    }
    const publicPort = deps.publicPorts?.match(req.headers.host);
    if (publicPort !== undefined) {
      (deps.publicPorts as PublicPorts).upgrade(req, socket, head, publicPort);
      return;
    }
    if (!upgradeOriginAllowed(req.headers.origin, req.headers.host, deps.allowedOrigins)) {
      log.debug({ url: redactUrl(url), origin: req.headers.origin, reqId: req.requestId }, 'websocket upgrade refused: foreign origin');
      rejectUpgrade(socket, new AppError('forbidden', 'cross-site WebSocket upgrade refused'), req.requestId);
      return;
    }
    const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
    const { path, queryToken } = splitToken(url);
    const token = bearerToken(req.headers.authorization) ?? queryToken ?? subprotocolToken(offered);
    if (token === undefined) {
      rejectUpgrade(socket, new AppError('unauthorized', 'missing token (Authorization: Bearer, ?token= or subprotocol)'), req.requestId);
      return;
    }
    const refuse = (err: unknown): void => {
      const error = asAppError(err);
      log.debug({ url: redactUrl(url), code: error.code, reqId: req.requestId }, 'websocket upgrade refused');
      rejectUpgrade(socket, error, req.requestId);
    };
    // Values carrying the caller's token stay here; the agent gets its own credentials.
    const forwarded = offered.filter((p) => p !== token && !p.startsWith('bearer.'));
    const connect = (upstream: Upstream): void =>
      tunnel(deps, req, socket, head, upstream, path, upstreamUpgradeHeaders(req, upstream.authorization, forwarded), offered);
    let upstream: Upstream | Promise<Upstream>;
    try {
      upstream = authorizer.authorize(token);
    } catch (err) {
      refuse(err);
      return;
    }
    if (upstream instanceof Promise) upstream.then(connect, refuse);
    else connect(upstream);
  };
}

/** Removes `token` (and `access_token`) from the query: the agent must not see the caller's JWT. */
function splitToken(url: string): { path: string; queryToken: string | undefined } {
  const q = url.indexOf('?');
  if (q < 0) return { path: url, queryToken: undefined };
  const params = new URLSearchParams(url.slice(q + 1));
  const queryToken = params.get('token') ?? params.get('access_token') ?? undefined;
  if (queryToken === undefined) return { path: url, queryToken };
  params.delete('token');
  params.delete('access_token');
  const rest = params.toString();
  return { path: url.slice(0, q) + (rest ? `?${rest}` : ''), queryToken: queryToken === '' ? undefined : queryToken };
}

/**
 * Performs the upgrade handshake with the agent (`headers` are the upstream
 * request's, built by the caller), relays its 101 and pipes both ways.
 * `offered` are the caller's subprotocols, one of which is echoed when the
 * agent chose none (empty: nothing is echoed).
 */
export function tunnel(
  deps: TunnelDeps,
  req: RequestHead,
  socket: Duplex,
  head: Buffer,
  upstream: Upstream,
  path: string,
  headers: Record<string, string>,
  offered: readonly string[],
): void {
  if (socket.destroyed) return;
  const upReq = http.request({
    host: upstream.ip,
    port: upstream.port,
    method: 'GET',
    path,
    headers,
    agent: false,
  });
  let timer = setTimeout(() => timeout('connect'), deps.pools.connectMs);
  const timeout = (phase: string): void => {
    upReq.destroy(Object.assign(new Error(`upstream ${phase} timeout`), { code: 'GATEWAY_TIMEOUT' }));
  };
  upReq.on('socket', (s: Socket) => {
    s.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => timeout('headers'), deps.pools.headersMs);
    });
  });
  const abandon = (): void => {
    upReq.destroy();
  };
  socket.once('close', abandon);

  upReq.on('error', (err) => {
    clearTimeout(timer);
    socket.off('close', abandon);
    const error = upstreamError(err);
    deps.log.warn(
      { code: error.code, cause: (err as { code?: string }).code ?? err.message, reqId: req.requestId },
      'websocket upstream failed',
    );
    rejectUpgrade(socket, error, req.requestId);
  });

  // The agent answered without upgrading (404 path, refused origin…): relay its answer.
  upReq.on('response', (upRes) => {
    clearTimeout(timer);
    socket.off('close', abandon);
    const chunks: Buffer[] = [];
    let size = 0;
    upRes.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 65_536) chunks.push(c);
    });
    upRes.on('end', () => {
      const body = Buffer.concat(chunks);
      const type = upRes.headers['content-type'] ?? 'application/json; charset=utf-8';
      socket.end(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 ${upRes.statusCode ?? 502} ${upRes.statusMessage ?? ''}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\nx-request-id: ${req.requestId}\r\nConnection: close\r\n\r\n`,
            'latin1',
          ),
          body,
        ]),
      );
    });
    upRes.on('error', () => socket.destroy());
  });

  upReq.on('upgrade', (upRes, upSocket: Socket, upHead: Buffer) => {
    clearTimeout(timer);
    socket.off('close', abandon);
    if (socket.destroyed) {
      upSocket.destroy();
      return;
    }
    socket.write(switchingProtocols(upRes, offered, req.requestId));
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) upSocket.write(head);
    (socket as Socket).setNoDelay?.(true);
    upSocket.setNoDelay(true);
    upSocket.setKeepAlive(true, KEEPALIVE_MS);
    relayFrames(deps.relays, socket, upSocket, upHead, upstream);
  });

  upReq.end();
}

/**
 * Pipes a tunnel both ways (pipe() pauses the faster side while the slower one's buffer is full; frames are never
 * parsed) and ends it: when either side leaves, and when the gateway cuts it (its workspace died, stopped or
 * moved). The agent's frame boundaries are followed so that the caller gets a close frame — the agent's own, or
 * one of the gateway's with a code and a reason — rather than a bare cut; only a cut mid-frame cannot say more.
 */
function relayFrames(relays: Relays, socket: Duplex, upSocket: Socket, upHead: Buffer, upstream: Upstream): void {
  const frames = new FrameBoundaries();
  if (upHead.length > 0) frames.feed(upHead);
  upSocket.on('data', (chunk: Buffer) => frames.feed(chunk));
  let ended = false;
  /** `undefined`: cut both sides; otherwise the caller's side ends after `close` (a frame, or nothing more). */
  const finish = (close: { code: number; reason: string } | undefined): void => {
    if (ended) return;
    ended = true;
    relays.deleteTunnel(tunnel);
    upSocket.unpipe(socket);
    socket.unpipe(upSocket);
    upSocket.destroy();
    if (close === undefined || socket.destroyed || !socket.writable || !frames.atBoundary) {
      socket.destroy();
      return;
    }
    if (frames.closeSeen) socket.end();
    else socket.end(closeFrame(close.code, close.reason));
    // What the caller still sends (its answering close) is read and dropped, so that its end arrives.
    socket.resume();
    const wait = setTimeout(() => socket.destroy(), CLOSE_WAIT_MS);
    wait.unref();
    socket.once('close', () => clearTimeout(wait));
  };
  const tunnel: RelayedTunnel = {
    workspaceId: upstream.workspaceId,
    origin: upstream.origin,
    cut: (reason: CutReason) => finish(CLOSE_OF[reason]),
    destroy: () => finish(undefined),
  };
  relays.addTunnel(tunnel);
  socket.on('close', () => finish(undefined));
  socket.on('error', () => finish(undefined));
  // The agent's side ended (its close frame already relayed, or it left without one) or broke.
  upSocket.on('end', () => finish(AGENT_LEFT));
  upSocket.on('error', () => finish(AGENT_LEFT));
  upSocket.on('close', () => finish(AGENT_LEFT));
  socket.pipe(upSocket);
  upSocket.pipe(socket, { end: false });
}

/**
 * The 101 for the caller: the request's id, then the agent's headers minus cookies (and its copy of the id). A browser fails
 * the connection unless one of its offered subprotocols comes back, so when
 * the agent chose none (the caller offered only its token) one of the
 * caller's own values is echoed, `bearer` when present.
 */
function switchingProtocols(upRes: IncomingMessage, offered: readonly string[], requestId: string): string {
  let head = `HTTP/1.1 101 Switching Protocols\r\nx-request-id: ${requestId}\r\n`;
  let hasProtocol = false;
  const raw = upRes.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'set-cookie' || lower === 'set-cookie2' || lower === 'x-request-id') continue;
    if (lower === 'sec-websocket-protocol') hasProtocol = true;
    head += `${name}: ${raw[i + 1] as string}\r\n`;
  }
  if (!hasProtocol && offered.length > 0) {
    head += `Sec-WebSocket-Protocol: ${offered.includes('bearer') ? 'bearer' : (offered[0] as string)}\r\n`;
  }
  return `${head}\r\n`;
}
