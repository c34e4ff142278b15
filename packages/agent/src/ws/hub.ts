import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { bearerToken, type TokenStore } from '../auth/token-store.js';
import { originAllowed } from './origin.js';

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
  /** Largest frame a client may send. */
  maxPayload?: number;
  /** Bytes queued to one client before it is disconnected as too slow. */
  maxBufferedBytes?: number;
}

/**
 * The multiplexed WebSocket at `/ws`.
 *
 * Every client receives every broadcast (terminal output, watcher events).
 * Domains plug in with `onConnect` (replay state to a new client),
 * `onText(channel, …)` and `onBinary(…)`. A client whose send queue passes
 * `maxBufferedBytes` is disconnected (close 1013) rather than buffered
 * without bound; it reconnects and restores from the on-connect replay.
 */
export class WsHub {
  readonly #wss: WebSocketServer;
  readonly #clients = new Map<WebSocket, WsClient>();
  readonly #textHandlers = new Map<string, TextHandler>();
  readonly #connectHandlers: ConnectHandler[] = [];
  #binaryHandler: BinaryHandler | undefined;
  readonly #opts: Required<Omit<WsHubOptions, 'allowedOrigins'>> & { allowedOrigins: readonly string[] };
  #nextId = 1;

  constructor(options: WsHubOptions) {
    this.#opts = {
      allowedOrigins: options.allowedOrigins ?? [],
      maxPayload: options.maxPayload ?? 1024 * 1024,
      maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
      tokens: options.tokens,
      log: options.log,
    };
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.#opts.maxPayload,
      perMessageDeflate: false,
      handleProtocols: (protocols) => selectProtocol(protocols, this.#opts.tokens),
    });
  }

  get size(): number {
    return this.#clients.size;
  }

  onConnect(handler: ConnectHandler): void {
    this.#connectHandlers.push(handler);
  }

  onText(channel: string, handler: TextHandler): void {
    this.#textHandlers.set(channel, handler);
  }

  onBinary(handler: BinaryHandler): void {
    this.#binaryHandler = handler;
  }

  broadcastText(message: object): void {
    if (this.#clients.size === 0) return;
    const text = JSON.stringify(message);
    for (const [socket] of this.#clients) this.#send(socket, text);
  }

  broadcastBinary(data: Buffer): void {
    for (const [socket] of this.#clients) this.#send(socket, data);
  }

  /** Handles an HTTP upgrade for `/ws`: origin check, authentication, then the WebSocket. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!originAllowed(request, this.#opts.allowedOrigins)) {
      rejectUpgrade(socket, 403, 'forbidden', 'cross-site WebSocket upgrade refused');
      return;
    }
    if (!this.#opts.tokens.verify(upgradeToken(request))) {
      rejectUpgrade(socket, 401, 'unauthorized', 'missing or invalid token');
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws));
  }

  /** Closes every client (server shutdown, access disabled). */
  closeAll(code = 1001, reason = 'server shutting down'): void {
    for (const [socket] of this.#clients) socket.close(code, reason);
  }

  close(): void {
    for (const [socket] of this.#clients) socket.terminate();
    this.#clients.clear();
    this.#wss.close();
  }

  #accept(ws: WebSocket): void {
    const id = this.#nextId++;
    const client: WsClient = {
      id,
      sendText: (message) => this.#send(ws, JSON.stringify(message)),
      sendBinary: (data) => this.#send(ws, data),
    };
    this.#clients.set(ws, client);
    ws.on('close', () => this.#clients.delete(ws));
    ws.on('error', (err) => this.#opts.log.debug({ err, client: id }, 'websocket error'));
    ws.on('message', (data, isBinary) => this.#receive(client, data as Buffer, isBinary));
    for (const handler of this.#connectHandlers) {
      try {
        handler(client);
      } catch (err) {
        this.#opts.log.error({ err }, 'websocket connect handler failed');
      }
    }
  }

  #receive(client: WsClient, data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      if (this.#binaryHandler) this.#binaryHandler(data, client);
      else client.sendText(errorFrame('binary frames are not accepted'));
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString('utf8'));
    } catch {
      client.sendText(errorFrame('text frame is not valid JSON'));
      return;
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      client.sendText(errorFrame('text frame must be a JSON object'));
      return;
    }
    const record = frame as Record<string, unknown>;
    const channel = record.channel === undefined ? 'terminal' : record.channel;
    if (typeof channel !== 'string' || typeof record.type !== 'string') {
      client.sendText(errorFrame("text frame needs string 'channel' and 'type' fields"));
      return;
    }
    const handler = this.#textHandlers.get(channel);
    if (!handler) {
      client.sendText(errorFrame(`unknown channel '${channel}'`));
      return;
    }
    try {
      handler({ ...record, channel, type: record.type }, client);
    } catch (err) {
      this.#opts.log.error({ err }, 'websocket handler failed');
      client.sendText(errorFrame('internal error'));
    }
  }

  #send(socket: WebSocket, data: string | Buffer): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > this.#opts.maxBufferedBytes) {
      this.#opts.log.warn({ client: this.#clients.get(socket)?.id }, 'websocket client too slow; disconnecting');
      this.#clients.delete(socket);
      socket.close(1013, 'client too slow');
      // A client that does not answer the close handshake is cut.
      setTimeout(() => socket.terminate(), 1000).unref();
      return;
    }
    socket.send(data);
  }
}

/** An error text frame. */
export function errorFrame(message: string, code = 'bad_request', extra: Record<string, unknown> = {}): object {
  return { channel: 'error', type: 'error', error: message, code, ...extra };
}

/**
 * The token of an upgrade request: `Authorization: Bearer`, `?token=`
 * (browsers and the official SDK) or a `Sec-WebSocket-Protocol` value
 * (`bearer.<token>`, or the bare token beside `bearer`).
 */
export function upgradeToken(request: IncomingMessage): string | undefined {
  const header = bearerToken(request.headers.authorization);
  if (header) return header;
  const url = new URL(request.url ?? '/', 'http://localhost');
  const query = url.searchParams.get('token');
  if (query) return query;
  const offered = request.headers['sec-websocket-protocol'];
  if (typeof offered === 'string') {
    const values = offered
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    for (const value of values) if (value.startsWith('bearer.')) return value.slice('bearer.'.length);
    const others = values.filter((v) => v !== 'bearer');
    if (values.includes('bearer') && others.length === 1) return others[0];
  }
  return undefined;
}

/** Answers the subprotocol: never echo a token when a non-secret choice was offered. */
function selectProtocol(protocols: Set<string>, tokens: TokenStore): string | false {
  if (protocols.has('bearer')) return 'bearer';
  for (const p of protocols) if (!p.startsWith('bearer.') && !tokens.verify(p)) return p;
  const first = protocols.values().next();
  return first.done ? false : first.value;
}

function rejectUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ success: false, error: message, code });
  const reason = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export { rejectUpgrade };
