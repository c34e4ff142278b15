import net from 'node:net';

/** A caller speaking raw bytes to a server, to send what HTTP libraries never would. */
export class RawClient {
  readonly socket: net.Socket;
  #received = '';
  #waiters: Array<() => void> = [];
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      this.#received += text;
      this.#wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => this.#wake());
  }

  static async connect(url: string): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    const socket = net.connect({ host: hostname, port: Number(port) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Everything received so far. */
  get text(): string {
    return this.#received;
  }

  /** Status codes of the responses received so far, in order (interim 1xx included). */
  get statuses(): number[] {
    return [...this.#received.matchAll(/HTTP\/1\.[01] (\d{3}) [^\r\n]*\r\n/g)].map((m) => Number(m[1]));
  }

  send(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves when `done(text)` holds, or rejects after `ms`. */
  async until(done: (text: string) => boolean, ms = 5_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!done(this.#received)) {
      if (this.socket.destroyed && !done(this.#received)) throw new Error(`connection closed; received: ${this.#received}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received: ${this.#received}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#received;
  }

  /** Waits until the server closes the connection. */
  async untilClosed(ms = 5_000): Promise<string> {
    await this.until(() => this.socket.destroyed || this.socket.readableEnded, ms);
    await this.closed;
    return this.#received;
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * An upstream that answers with whatever bytes a test scripts, per connection:
 * for agents that misbehave in ways node:http would not (close-delimited
 * bodies, interim answers, garbage, closing a kept-alive connection).
 */
export async function startScriptedUpstream(
  onConnection: (socket: net.Socket, index: number) => void,
): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket, count++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Calls `onRequest(head)` for each request head a scripted upstream receives (bodies must be absent). */
export function onRequestHeads(socket: net.Socket, onRequest: (head: string) => void): void {
  let buffered = '';
  socket.setEncoding('latin1');
  socket.on('data', (text: string) => {
    buffered += text;
    for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
      const head = buffered.slice(0, end);
      buffered = buffered.slice(end + 4);
      onRequest(head);
    }
  });
}
