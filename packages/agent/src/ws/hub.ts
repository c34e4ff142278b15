import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { redactUrl, upgradeOriginAllowed, WS_CLOSE, WS_MAX_PAYLOAD } from '@cove/protocol';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import type { TokenStore } from '../auth/token-store.js';
import { rejectUpgrade, selectProtocol, upgradeRequestId, upgradeToken } from './upgrade-auth.js';

export { rejectUpgrade, upgradeToken };

/** `WebSocket.OPEN`, without loading ws for it. */
const OPEN = 1;

/** One connected `/ws` client. */
export interface WsClient {
  readonly id: number;
  sendText(message: object): void;
  sendBinary(data: Buffer): void;
}

/** A text frame a client sent, already parsed. `channel` defaults to `terminal`. */
export interface TextFrame {
  channel: string;
  type: string;
  [key: string]: unknown;
}

export type TextHandler = (frame: TextFrame, client: WsClient) => void;
export type BinaryHandler = (data: Buffer, client: WsClient) => void;
export type ConnectHandler = (client: WsClient) => void;

export interface WsHubOptions {
  tokens: TokenStore;
  log: Logger;
  /** Origins allowed besides the request's own host (for browser IDEs on other hosts). */
  allowedOrigins?: readonly string[];
  /** Largest frame a client may send; a bigger one closes the socket with 1009. */
  maxPayload?: number;
  /** Queued bytes past which a client is congested: producers pause until it drains. */
  highWaterBytes?: number;
  /** Queued bytes past which a client is disconnected at once. */
  maxBufferedBytes?: number;
  /** How long a client may stay congested before it is disconnected as too slow (ms). */
  stallTimeoutMs?: number;
}

interface Peer {
  readonly socket: WebSocket;
  readonly client: WsClient;
  stallTimer: NodeJS.Timeout | undefined;
}

/**
 * The multiplexed WebSocket at `/ws`.
 *
 * Every client receives every broadcast (terminal output, watcher events).
 * Domains plug in with `onConnect` (replay state to a new client),
 * `onText(channel, …)` and `onBinary(…)`.
 *
 * Flow control: a client whose send queue passes `highWaterBytes` is
 * congested; `congested` tells producers to pause (terminals stop reading
 * their PTYs) and `onDrain` handlers run once no client is congested. A
 * client congested for `stallTimeoutMs`, or whose queue passes
 * `maxBufferedBytes`, is disconnected (close 1013) rather than buffered
 * without bound; it reconnects and restores from the on-connect replay.
 */
export class WsHub {
  /** Made on the first upgrade: ws (and the crypto it loads) is not needed by an agent nobody opened /ws on. */
  #wss: Promise<WebSocketServer> | undefined;
  readonly #peers = new Map<WebSocket, Peer>();
  readonly #congested = new Set<Peer>();
  readonly #textHandlers = new Map<string, TextHandler>();
  readonly #connectHandlers: ConnectHandler[] = [];
  readonly #drainHandlers: Array<() => void> = [];
  #binaryHandler: BinaryHandler | undefined;
  readonly #opts: Required<Omit<WsHubOptions, 'allowedOrigins'>> & { allowedOrigins: readonly string[] };
  #nextId = 1;

  constructor(options: WsHubOptions) {
    this.#opts = {
      allowedOrigins: options.allowedOrigins ?? [],
      maxPayload: options.maxPayload ?? WS_MAX_PAYLOAD,
      highWaterBytes: options.highWaterBytes ?? 1024 * 1024,
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024 * 1024,
      stallTimeoutMs: options.stallTimeoutMs ?? 10_000,
      tokens: options.tokens,
      log: options.log,
    };
  }

  #server(): Promise<WebSocketServer> {
    this.#wss ??= import('ws').then(({ WebSocketServer }) => {
      const wss = new WebSocketServer({
        noServer: true,
        maxPayload: this.#opts.maxPayload,
        perMessageDeflate: false,
        handleProtocols: (protocols) => selectProtocol(protocols, this.#opts.tokens),
      });
      // The 101 carries the request's id like every other answer.
      wss.on('headers', (headers, request) => headers.push(`x-request-id: ${upgradeRequestId(request)}`));
      return wss;
    });
    return this.#wss;
  }

  /** Connected clients. */
  get size(): number {
    return this.#peers.size;
  }

  /** True while some client's send queue is above the high-water mark. */
  get congested(): boolean {
    return this.#congested.size > 0;
  }

  onConnect(handler: ConnectHandler): void {
    this.#connectHandlers.push(handler);
  }

  /** Runs when the last congested client drains (or is disconnected). */
  onDrain(handler: () => void): void {
    this.#drainHandlers.push(handler);
  }

  onText(channel: string, handler: TextHandler): void {
    this.#textHandlers.set(channel, handler);
  }

  onBinary(handler: BinaryHandler): void {
    this.#binaryHandler = handler;
  }

  broadcastText(message: object): void {
    if (this.#peers.size === 0) return;
    const text = JSON.stringify(message);
    for (const peer of this.#peers.values()) this.#send(peer, text);
  }

  broadcastBinary(data: Buffer): void {
    for (const peer of this.#peers.values()) this.#send(peer, data);
  }

  /** Handles an HTTP upgrade for `/ws`: origin check, authentication, then the WebSocket. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = redactUrl(request.url);
    const reqId = upgradeRequestId(request);
    if (!upgradeOriginAllowed(request.headers.origin, request.headers.host, this.#opts.allowedOrigins)) {
      this.#opts.log.debug({ url, reqId, origin: request.headers.origin }, 'websocket upgrade refused: foreign origin');
      rejectUpgrade(socket, 403, 'forbidden', 'cross-site WebSocket upgrade refused', reqId);
      return;
    }
    if (!this.#opts.tokens.verify(upgradeToken(request))) {
      this.#opts.log.debug({ url, reqId }, 'websocket upgrade refused: bad token');
      rejectUpgrade(socket, 401, 'unauthorized', 'missing or invalid token', reqId);
      return;
    }
    // Node's server leaves an upgraded socket without an error listener: one until ws takes it over.
    const destroy = () => socket.destroy();
    socket.on('error', destroy);
    void this.#server().then(
      (wss) => {
        socket.off('error', destroy);
        if (socket.destroyed) return;
        wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, url, reqId));
      },
      (err: unknown) => {
        socket.off('error', destroy);
        this.#opts.log.error({ err, url, reqId }, 'websocket upgrade failed');
        socket.destroy();
      },
    );
  }

  /** Closes every client (server shutdown, access disabled). */
  closeAll(code: number = WS_CLOSE.goingAway, reason = 'server shutting down'): void {
    for (const peer of [...this.#peers.values()]) this.#disconnect(peer, code, reason);
  }

  close(): void {
    for (const peer of this.#peers.values()) {
      if (peer.stallTimer) clearTimeout(peer.stallTimer);
      peer.socket.terminate();
    }
    this.#peers.clear();
    this.#congested.clear();
    void this.#wss?.then((wss) => wss.close());
  }

  #accept(ws: WebSocket, url: string, reqId: string): void {
    const id = this.#nextId++;
    const peer: Peer = {
      socket: ws,
      client: {
        id,
        sendText: (message) => this.#send(peer, JSON.stringify(message)),
        sendBinary: (data) => this.#send(peer, data),
      },
      stallTimer: undefined,
    };
    this.#peers.set(ws, peer);
    this.#opts.log.debug({ client: id, url, reqId }, 'websocket connected');
    ws.on('close', (code) => {
      this.#opts.log.debug({ client: id, code }, 'websocket closed');
      this.#remove(peer);
    });
    // ws answers protocol violations itself (1002; 1009 for a frame above maxPayload) and then closes.
    ws.on('error', (err) => this.#opts.log.debug({ err: { message: err.message }, client: id }, 'websocket error'));
    ws.on('message', (data, isBinary) => this.#receive(peer.client, data as Buffer, isBinary));
    for (const handler of this.#connectHandlers) {
      try {
        handler(peer.client);
      } catch (err) {
        this.#opts.log.error({ err }, 'websocket connect handler failed');
      }
    }
  }

  #receive(client: WsClient, data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      if (this.#binaryHandler) this.#safely(client, () => this.#binaryHandler?.(data, client));
      else client.sendText(errorFrame('binary frames are not accepted'));
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString('utf8'));
    } catch {
      client.sendText(errorFrame('text frame is not valid JSON', 'invalid_json'));
      return;
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      client.sendText(errorFrame('text frame must be a JSON object'));
      return;
    }
    const record = frame as Record<string, unknown>;
    // The official SDK treats a frame without `channel` as a terminal frame; so does the server.
    const channel = record.channel === undefined ? 'terminal' : record.channel;
    if (typeof channel !== 'string' || typeof record.type !== 'string') {
      client.sendText(errorFrame("text frame needs string 'channel' and 'type' fields"));
      return;
    }
    const handler = this.#textHandlers.get(channel);
    if (!handler) {
      client.sendText(errorFrame(`unknown channel '${channel.slice(0, 64)}'`));
      return;
    }
    this.#safely(client, () => handler({ ...record, channel, type: record.type as string }, client));
  }

  #safely(client: WsClient, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#opts.log.error({ err }, 'websocket handler failed');
      client.sendText(errorFrame('internal error', 'internal_error'));
    }
  }

  #send(peer: Peer, data: string | Buffer): void {
    const { socket } = peer;
    if (socket.readyState !== OPEN) return;
    if (socket.bufferedAmount > this.#opts.maxBufferedBytes) {
      this.#tooSlow(peer);
      return;
    }
    // Completion callbacks are only needed to notice a congested client catching up.
    const watch = this.#congested.has(peer) || socket.bufferedAmount + data.length > this.#opts.highWaterBytes / 2;
    socket.send(data, watch ? () => this.#checkDrained(peer) : undefined);
    if (!this.#congested.has(peer) && socket.bufferedAmount > this.#opts.highWaterBytes) {
      this.#congested.add(peer);
      peer.stallTimer = setTimeout(() => this.#tooSlow(peer), this.#opts.stallTimeoutMs);
      peer.stallTimer.unref();
    }
  }

  /** Called as each queued frame reaches the kernel: a congested client that caught up is released. */
  #checkDrained(peer: Peer): void {
    if (!this.#congested.has(peer)) return;
    if (peer.socket.readyState === OPEN && peer.socket.bufferedAmount > this.#opts.highWaterBytes / 2) return;
    this.#uncongest(peer);
  }

  #uncongest(peer: Peer): void {
    if (peer.stallTimer) clearTimeout(peer.stallTimer);
    peer.stallTimer = undefined;
    if (!this.#congested.delete(peer) || this.#congested.size > 0) return;
    for (const handler of this.#drainHandlers) {
      try {
        handler();
      } catch (err) {
        this.#opts.log.error({ err }, 'websocket drain handler failed');
      }
    }
  }

  #tooSlow(peer: Peer): void {
    this.#opts.log.warn({ client: peer.client.id, queued: peer.socket.bufferedAmount }, 'websocket client too slow; disconnecting');
    this.#disconnect(peer, WS_CLOSE.tooSlow, 'client too slow');
  }

  #disconnect(peer: Peer, code: number, reason: string): void {
    this.#remove(peer);
    peer.socket.close(code, reason);
    // A client that does not answer the close handshake (it is not reading) is cut.
    setTimeout(() => peer.socket.terminate(), 1000).unref();
  }

  #remove(peer: Peer): void {
    if (!this.#peers.delete(peer.socket)) return;
    this.#uncongest(peer);
  }
}

/** An error text frame about a frame that could not be read (`channel: "error"`). */
export function errorFrame(message: string, code = 'bad_request', extra: Record<string, unknown> = {}): object {
  return { channel: 'error', type: 'error', error: message, code, ...extra };
}
