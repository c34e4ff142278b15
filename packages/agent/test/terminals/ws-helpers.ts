import xterm from '@xterm/headless';
import WebSocket from 'ws';
import type { TestAgent } from '../helpers/agent.js';

export interface TextMessage {
  channel?: string;
  type?: string;
  id?: string;
  code?: number | string;
  error?: string;
  [key: string]: unknown;
}

/** A `ws` client of `/ws` that records everything it receives. */
export class WsTestClient {
  readonly socket: WebSocket;
  readonly texts: TextMessage[] = [];
  /** Output per terminal id, concatenated. */
  readonly output = new Map<number, Buffer>();
  readonly #waiters = new Set<() => void>();
  closed: { code: number; reason: string } | undefined;

  constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const id = data[0] as number;
        this.output.set(id, Buffer.concat([this.output.get(id) ?? Buffer.alloc(0), data.subarray(1)]));
      } else this.texts.push(JSON.parse(data.toString('utf8')) as TextMessage);
      this.#wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static open(t: TestAgent, options: { query?: boolean } = {}): Promise<WsTestClient> {
    const url = `${t.url.replace('http', 'ws')}/ws${options.query ? `?token=${t.token}` : ''}`;
    const socket = new WebSocket(url, options.query ? {} : { headers: { authorization: `Bearer ${t.token}` } });
    const client = new WsTestClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  text(id: number): string {
    return (this.output.get(id) ?? Buffer.alloc(0)).toString('utf8');
  }

  input(id: number, data: string | Buffer): void {
    this.socket.send(Buffer.concat([Buffer.of(id), typeof data === 'string' ? Buffer.from(data) : data]));
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves once `check` holds; rejects after `ms` with what was received. */
  waitFor<T>(check: () => T | undefined | false, what: string, ms = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value !== undefined && value !== false) {
          cleanup();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        const shown = [...this.output].map(([id, b]) => `${id}: ${JSON.stringify(b.toString('utf8').slice(-300))}`).join('\n');
        reject(new Error(`timed out waiting for ${what}\ntexts: ${JSON.stringify(this.texts)}\noutput:\n${shown}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(attempt);
      };
      this.#waiters.add(attempt);
      attempt();
    });
  }

  waitForText(pred: (m: TextMessage) => boolean, what = 'a text frame'): Promise<TextMessage> {
    return this.waitFor(() => this.texts.find(pred), what);
  }

  waitForOutput(id: number, needle: string | RegExp): Promise<string> {
    return this.waitFor(
      () => {
        const text = this.text(id);
        return (typeof needle === 'string' ? text.includes(needle) : needle.test(text)) ? text : undefined;
      },
      `output ${String(needle)} on terminal ${id}`,
    );
  }

  waitForClose(): Promise<{ code: number; reason: string }> {
    return this.waitFor(() => this.closed, 'close');
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** What a terminal screen shows after `data`, rendered by xterm.js. */
export async function renderScreen(data: Buffer | string, cols = 80, rows = 24): Promise<string[]> {
  const term = new xterm.Terminal({ cols, rows, allowProposedApi: true });
  await new Promise<void>((resolve) => term.write(typeof data === 'string' ? data : new Uint8Array(data), resolve));
  const lines: string[] = [];
  const buffer = term.buffer.active;
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
  term.dispose();
  return lines;
}

/** Creates a terminal through the REST API and returns its numeric id. */
export async function createTerminal(t: TestAgent, body: Record<string, unknown> = {}): Promise<number> {
  const res = await t.json<{ id: string }>('POST', '/terminals', { body: { cmd: ['/bin/bash', '--norc', '--noprofile'], ...body } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return Number(res.body.id);
}
