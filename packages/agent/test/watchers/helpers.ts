import { writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import type { TestAgent } from '../helpers/agent.js';

export interface WatcherEvent {
  channel: 'watcher';
  type: 'ready' | 'change' | 'overflow';
  watcher_id: string;
  path?: string;
  op?: string;
  root?: string;
  dirs?: number;
  message?: string;
}

/** A `/ws` client that keeps the `watcher` channel's events. */
export class WatcherEvents {
  readonly events: WatcherEvent[] = [];
  readonly #socket: WebSocket;
  readonly #waiters = new Set<() => void>();
  #sentinels = 0;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(data.toString('utf8')) as WatcherEvent;
      if (message.channel !== 'watcher') return;
      this.events.push(message);
      for (const wake of [...this.#waiters]) wake();
    });
    socket.on('error', () => {});
  }

  static open(t: TestAgent): Promise<WatcherEvents> {
    const socket = new WebSocket(`${t.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${t.token}` } });
    const client = new WatcherEvents(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  close(): void {
    this.#socket.terminate();
  }

  /** Change events of one watcher, as `op path-relative-to-root` strings (easy to compare). */
  changes(watcherId: string, root: string, from = 0): string[] {
    return this.events
      .slice(from)
      .filter((e) => e.type === 'change' && e.watcher_id === watcherId)
      .map((e) => `${e.op} ${path.relative(root, e.path as string) || '.'}`);
  }

  /** Resolves with the first event (from index `from`) matching `check`. */
  waitFor(check: (e: WatcherEvent) => boolean, what: string, from = 0, ms = 15_000): Promise<WatcherEvent> {
    return new Promise((resolve, reject) => {
      // Each event is checked once, however many arrive (bursts of thousands).
      let next = from;
      const attempt = () => {
        for (; next < this.events.length; next++) {
          const event = this.events[next] as WatcherEvent;
          if (check(event)) {
            cleanup();
            resolve(event);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        const got = this.events.slice(from);
        reject(new Error(`timed out waiting for ${what}; got ${got.length} events, the last: ${JSON.stringify(got.slice(-10))}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(attempt);
      };
      this.#waiters.add(attempt);
      attempt();
    });
  }

  waitForChange(watcherId: string, file: string, op: string, from = 0): Promise<WatcherEvent> {
    return this.waitFor((e) => e.type === 'change' && e.watcher_id === watcherId && e.path === file && e.op === op, `${op} ${file}`, from);
  }

  /**
   * Writes a fresh sentinel file in `dir` and waits for its event. Events
   * leave in the order their paths first changed, so once the sentinel's
   * arrived, anything caused before it has arrived too: a test can then
   * assert that something did NOT happen without sleeping.
   */
  async barrier(watcherId: string, dir: string): Promise<void> {
    const file = path.join(dir, `zz-sentinel-${++this.#sentinels}`);
    writeFileSync(file, '');
    await this.waitForChange(watcherId, file, 'create');
  }
}

/** POST /watchers and return the body (asserting success). */
export async function createWatcher(t: TestAgent, body: Record<string, unknown>): Promise<{ id: string; root: string; dirs: number }> {
  const res = await t.json<{ id: string; root: string; dirs: number; success: boolean }>('POST', '/watchers', { body });
  if (res.status !== 200) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
