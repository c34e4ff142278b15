import type { RuntimeHttp } from './runtime-http.js';

/** A watcher event as it arrives (`ready`, `change`, `overflow`). */
export interface WatcherEvent {
  channel: 'watcher';
  type: 'ready' | 'change' | 'overflow' | string;
  watcher_id: string;
  path?: string;
  op?: 'create' | 'write' | 'remove' | 'rename' | string;
  root?: string;
  dirs?: number;
  message?: string;
  [key: string]: unknown;
}

export interface RuntimeWebSocketOptions {
  /** Reconnect after an unexpected close (default true). */
  reconnect?: boolean;
  /** First reconnect delay in ms (1000), growing ×1.5 up to 30 s. */
  reconnectDelay?: number;
  /** Give up after this many failed attempts in a row (Infinity). */
  maxReconnectAttempts?: number;
}

interface SocketLike {
  binaryType: string;
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

type SocketFactory = (url: string, token: string) => Promise<SocketLike>;

const OPEN = 1;

/**
 * The multiplexed WebSocket (`/ws`): terminal I/O and watcher events.
 * Reconnects with backoff after unexpected closes (with a fresh token when
 * the connection was refused) and receives the server's on-connect replay
 * (scrollback, exit notices, watcher `ready` events) each time.
 *
 * @example
 * const ws = rt.ws();
 * ws.onTerminalOutput((id, data) => process.stdout.write(data));
 * ws.onTerminalExit((id, code) => console.log(`terminal ${id} exited with ${code}`));
 * await ws.connect();
 * ws.writeTerminalInput(term.id, 'ls -la\n');
 * ws.resizeTerminal(term.id, 160, 50);
 */
export class RuntimeWebSocket {
  readonly #http: RuntimeHttp;
  readonly #opts: Required<RuntimeWebSocketOptions>;
  #socket: SocketLike | undefined;
  #closedByUser = false;
  #attempts = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #handlers = {
    output: [] as Array<(id: string, data: Uint8Array) => void>,
    exit: [] as Array<(id: string, code: number) => void>,
    watcher: [] as Array<(event: WatcherEvent) => void>,
    message: [] as Array<(message: Record<string, unknown>) => void>,
    open: [] as Array<() => void>,
    close: [] as Array<(code: number, reason: string) => void>,
    error: [] as Array<(error: unknown) => void>,
  };

  constructor(http: RuntimeHttp, options: RuntimeWebSocketOptions = {}) {
    this.#http = http;
    this.#opts = {
      reconnect: options.reconnect ?? true,
      reconnectDelay: options.reconnectDelay ?? 1000,
      maxReconnectAttempts: options.maxReconnectAttempts ?? Number.POSITIVE_INFINITY,
    };
  }

  /** Whether the socket is open now. */
  get connected(): boolean {
    return this.#socket?.readyState === OPEN;
  }

  onTerminalOutput(handler: (id: string, data: Uint8Array) => void): this {
    this.#handlers.output.push(handler);
    return this;
  }

  onTerminalExit(handler: (id: string, code: number) => void): this {
    this.#handlers.exit.push(handler);
    return this;
  }

  onWatcherEvent(handler: (event: WatcherEvent) => void): this {
    this.#handlers.watcher.push(handler);
    return this;
  }

  /** Every text frame, parsed. */
  onMessage(handler: (message: Record<string, unknown>) => void): this {
    this.#handlers.message.push(handler);
    return this;
  }

  onOpen(handler: () => void): this {
    this.#handlers.open.push(handler);
    return this;
  }

  onClose(handler: (code: number, reason: string) => void): this {
    this.#handlers.close.push(handler);
    return this;
  }

  onError(handler: (error: unknown) => void): this {
    this.#handlers.error.push(handler);
    return this;
  }

  /** Opens the connection; resolves once it is open (rejects if the first attempt fails). */
  connect(): Promise<void> {
    this.#closedByUser = false;
    return this.#open(false);
  }

  /** Sends keystrokes or bytes to a terminal: a binary frame `[id][data]`. */
  writeTerminalInput(id: string | number, data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const frame = new Uint8Array(bytes.length + 1);
    frame[0] = Number(id) & 0xff;
    frame.set(bytes, 1);
    this.#send(frame);
  }

  /** Resizes a terminal. */
  resizeTerminal(id: string | number, cols: number, rows: number): void {
    this.sendJSON({ channel: 'terminal', type: 'resize', id: String(id), cols, rows });
  }

  /** Closes a terminal session. */
  closeTerminal(id: string | number): void {
    this.sendJSON({ channel: 'terminal', type: 'close', id: String(id) });
  }

  /** Sends any JSON text frame. */
  sendJSON(message: object): void {
    this.#send(JSON.stringify(message));
  }

  /** Closes the connection for good (no reconnect). */
  close(): void {
    this.#closedByUser = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#socket?.close(1000, 'client close');
  }

  #send(data: string | Uint8Array): void {
    if (!this.connected) throw new Error('WebSocket is not connected');
    this.#socket?.send(data);
  }

  async #open(freshToken: boolean): Promise<void> {
    const token = (freshToken ? await this.#http.refreshToken().catch(() => undefined) : undefined) ?? (await this.#http.token());
    const url = this.#http.transport.url('/ws').replace(/^http/, 'ws');
    const socket = await openSocket(url, token);
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    return new Promise<void>((resolve, reject) => {
      let opened = false;
      socket.onopen = () => {
        opened = true;
        this.#attempts = 0;
        for (const h of this.#handlers.open) h();
        resolve();
      };
      socket.onmessage = (ev) => this.#receive(ev.data);
      socket.onerror = (err) => {
        for (const h of this.#handlers.error) h(err);
      };
      socket.onclose = (ev) => {
        for (const h of this.#handlers.close) h(ev.code, ev.reason);
        if (!opened) reject(new Error(`WebSocket connection to ${url.split('?')[0]} failed (${ev.code})`));
        if (this.#closedByUser || !this.#opts.reconnect) return;
        this.#scheduleReconnect(!opened);
      };
    });
  }

  #scheduleReconnect(refused: boolean): void {
    this.#attempts++;
    if (this.#attempts > this.#opts.maxReconnectAttempts) return;
    const delay = Math.min(30_000, this.#opts.reconnectDelay * 1.5 ** (this.#attempts - 1));
    this.#timer = setTimeout(() => {
      // A connection that never opened may have been refused for its token: ask for a fresh one.
      this.#open(refused).catch(() => {});
    }, delay);
  }

  #receive(data: unknown): void {
    if (typeof data === 'string') {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(data) as Record<string, unknown>;
      } catch {
        return;
      }
      for (const h of this.#handlers.message) h(message);
      const channel = message.channel ?? 'terminal';
      if (channel === 'terminal' && message.type === 'exit') {
        for (const h of this.#handlers.exit) h(String(message.id), Number(message.code ?? message.exit_code ?? 0));
      } else if (channel === 'watcher') {
        for (const h of this.#handlers.watcher) h(message as WatcherEvent);
      }
      return;
    }
    const bytes =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : undefined;
    if (!bytes || bytes.length < 2) return;
    const id = String(bytes[0]);
    const payload = bytes.subarray(1);
    for (const h of this.#handlers.output) h(id, payload);
  }
}

/**
 * Opens a socket: the platform's WebSocket where there is one (browsers,
 * Node 22+), with the token as `?token=` since browsers cannot set headers;
 * otherwise the `ws` package with an Authorization header.
 */
const openSocket: SocketFactory = async (url, token) => {
  const Native = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (Native) {
    const withToken = new URL(url);
    withToken.searchParams.set('token', token);
    return new Native(withToken.toString());
  }
  const { WebSocket: NodeWebSocket } = (await import('ws')) as unknown as {
    WebSocket: new (url: string, options: { headers: Record<string, string> }) => SocketLike;
  };
  return new NodeWebSocket(url, { headers: { authorization: `Bearer ${token}` } });
};
