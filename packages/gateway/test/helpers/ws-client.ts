import WebSocket from 'ws';

/** A `ws` client that records what it receives and can wait for a condition. */
export class RecordingWs {
  readonly socket: WebSocket;
  readonly texts: Array<Record<string, unknown>> = [];
  binary = Buffer.alloc(0);
  readonly #waiters = new Set<() => void>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) this.binary = Buffer.concat([this.binary, data.subarray(1)]);
      else this.texts.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
      for (const w of this.#waiters) w();
    });
    socket.on('error', () => {});
  }

  static open(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<RecordingWs> {
    const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    const client = new RecordingWs(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  waitFor(check: () => boolean, what: string, ms = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters.delete(attempt);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(attempt);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.binary.toString('utf8').slice(-300))}`));
      }, ms);
      this.#waiters.add(attempt);
      attempt();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}
