// The agent's stdout, read for its whole life: the lifecycle messages on it (ready, token reloaded) are how the
// driver learns what the agent did, and reading keeps a chatty agent from blocking on a full pipe.
import type { ChildProcess } from 'node:child_process';
import { type AgentLifecycleEvent, parseAgentEvents } from '@cove/protocol';

type EventType = AgentLifecycleEvent['type'];

interface Waiter {
  types: readonly EventType[];
  resolve(event: AgentLifecycleEvent): void;
  reject(err: Error): void;
}

/** A line longer than this without a newline is no lifecycle message: it is dropped rather than buffered. */
const MAX_PARTIAL_LINE = 64 * 1024;

export class AgentOutput {
  readonly #waiters = new Set<Waiter>();
  #partial = '';
  #ended: string | undefined;

  constructor(child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.#feed(chunk));
    child.once('exit', (code, signal) => this.#end(signal ? `exited on ${signal}` : `exited with code ${code}`));
  }

  /**
   * The next message of one of `types` written from now on; rejects when the agent exits first or after
   * `timeoutMs`. Call it before the signal the message answers, so that a quick answer is not missed.
   */
  next<T extends EventType>(types: readonly T[], timeoutMs: number): Promise<Extract<AgentLifecycleEvent, { type: T }>> {
    if (this.#ended) return Promise.reject(new Error(this.#ended));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(() => reject(new Error(`no ${types.join(' or ')} message within ${timeoutMs} ms`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        settle();
      };
      const waiter: Waiter = {
        types,
        resolve: (event) => done(() => resolve(event as Extract<AgentLifecycleEvent, { type: T }>)),
        reject: (err) => done(() => reject(err)),
      };
      this.#waiters.add(waiter);
    });
  }

  #feed(chunk: string): void {
    const { events, rest } = parseAgentEvents(this.#partial + chunk);
    this.#partial = rest.length > MAX_PARTIAL_LINE ? '' : rest;
    for (const event of events) {
      for (const waiter of [...this.#waiters]) if (waiter.types.includes(event.type)) waiter.resolve(event);
    }
  }

  #end(reason: string): void {
    this.#ended = reason;
    for (const waiter of [...this.#waiters]) waiter.reject(new Error(reason));
  }
}
