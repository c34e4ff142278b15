// A workspace's Internal API through the gateway, with @cove/sdk's runtime client. The gateway token comes from
// the control plane (the session's own API call) and lives in this page's memory only; after a 401 the client
// asks for a fresh one. One multiplexed WebSocket per open workspace carries terminal I/O and watcher events.
import { Runtime, type RuntimeWebSocket, type WatcherEvent } from '@cove/sdk/runtime';
import { api } from './api.js';

type OutputListener = (id: string, data: Uint8Array) => void;
type ExitListener = (id: string, code: number) => void;
type WatcherListener = (event: WatcherEvent) => void;
type StateListener = (connected: boolean) => void;

/** The SDK's socket keeps every handler for good; this fans its events out to listeners that can leave. */
export class WorkspaceRuntime {
  readonly rt: Runtime;
  readonly #id: string;
  #ws: RuntimeWebSocket | undefined;
  #ready: Promise<RuntimeWebSocket> | undefined;
  readonly #output = new Set<OutputListener>();
  readonly #exit = new Set<ExitListener>();
  readonly #watcher = new Set<WatcherListener>();
  readonly #state = new Set<StateListener>();

  constructor(workspaceId: string, gatewayUrl: string) {
    this.#id = workspaceId;
    let token: string | undefined;
    this.rt = new Runtime({
      baseURL: gatewayUrl,
      tokens: {
        get: async () => {
          token ??= await api.gatewayToken(workspaceId);
          return token;
        },
        refresh: async () => {
          token = await api.freshToken(workspaceId);
          return token;
        },
      },
    });
  }

  get id(): string {
    return this.#id;
  }

  get connected(): boolean {
    return this.#ws?.connected ?? false;
  }

  /** The WebSocket, opened on first use; it reconnects by itself and the agent replays scrollback each time. */
  socket(): Promise<RuntimeWebSocket> {
    this.#ready ??= this.#open();
    return this.#ready;
  }

  async #open(): Promise<RuntimeWebSocket> {
    const ws = this.rt.ws({ reconnectDelay: 500, maxReconnectAttempts: 50 });
    this.#ws = ws;
    ws.onTerminalOutput((id, data) => {
      for (const l of this.#output) l(id, data);
    });
    ws.onTerminalExit((id, code) => {
      for (const l of this.#exit) l(id, code);
    });
    ws.onWatcherEvent((event) => {
      for (const l of this.#watcher) l(event);
    });
    ws.onOpen(() => {
      for (const l of this.#state) l(true);
    });
    ws.onClose(() => {
      for (const l of this.#state) l(false);
    });
    // Failures show through the state listeners; the SDK reconnects by itself.
    ws.onError(() => {});
    try {
      await ws.connect();
    } catch (err) {
      // The first attempt failed: no background retries; the next socket() call starts over.
      ws.close();
      this.#ws = undefined;
      this.#ready = undefined;
      throw err;
    }
    return ws;
  }

  /** Keystrokes to a terminal, on the socket open now (dropped while it reconnects). */
  write(terminalId: string, data: string | Uint8Array): void {
    if (this.#ws?.connected) this.#ws.writeTerminalInput(terminalId, data);
  }

  resize(terminalId: string, cols: number, rows: number): void {
    if (this.#ws?.connected) this.#ws.resizeTerminal(terminalId, cols, rows);
  }

  onOutput(listener: OutputListener): () => void {
    return add(this.#output, listener);
  }
  onExit(listener: ExitListener): () => void {
    return add(this.#exit, listener);
  }
  onWatcher(listener: WatcherListener): () => void {
    return add(this.#watcher, listener);
  }
  onState(listener: StateListener): () => void {
    return add(this.#state, listener);
  }

  close(): void {
    this.#ws?.close();
    this.#ws = undefined;
    this.#ready = undefined;
  }
}

function add<T>(set: Set<T>, item: T): () => void {
  set.add(item);
  return () => set.delete(item);
}
