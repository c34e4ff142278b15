/** setTimeout's longest delay; later deadlines are re-armed when it fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Every workspace's next lifecycle deadline (TTL, idle, restart backoff) behind one timer, armed for the
 * earliest. Thousands of workspaces cost one timer and a map, not a timer each; a change re-arms only when it
 * moves the earliest deadline. The deadlines themselves are derived from times in the store, so this is a
 * cache the control plane rebuilds at start (see Lifecycle.start).
 */
export class DeadlineQueue {
  readonly #due = new Map<string, number>();
  readonly #onDue: (key: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(onDue: (key: string) => void) {
    this.#onDue = onDue;
  }

  /** Sets (or moves) `key`'s deadline to `at` (ms since the epoch); a past one fires at once. */
  set(key: string, at: number): void {
    if (this.#closed) return;
    this.#due.set(key, at);
    if (at < this.#armedFor) this.#arm(at);
  }

  delete(key: string): void {
    this.#due.delete(key);
  }

  /** When `key` is due, or undefined. */
  get(key: string): number | undefined {
    return this.#due.get(key);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#due.clear();
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(() => this.#fire(), Math.min(MAX_DELAY_MS, Math.max(0, at - Date.now())));
    // Deadlines never keep the process alive on their own.
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const due: string[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [key, at] of this.#due) {
      if (at <= now) due.push(key);
      else if (at < next) next = at;
    }
    for (const key of due) this.#due.delete(key);
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    for (const key of due) this.#onDue(key);
  }
}
