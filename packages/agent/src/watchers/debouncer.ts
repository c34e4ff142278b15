import { performance } from 'node:perf_hooks';

interface Pending<Op> {
  op: Op;
  due: number;
}

export interface DebouncerOptions<Op> {
  /** Changes to one path within this window collapse into one, carrying the last op. */
  windowMs: number;
  /** Paths waiting at once; past it changes are dropped and `onOverflow` is called. */
  maxPending: number;
  flush(path: string, op: Op): void;
  onOverflow(): void;
}

/**
 * Per-path debouncing with a fixed window: the first change to a path opens
 * a window of `windowMs`; changes inside it only replace the op; when it
 * closes, one event goes out. A fixed (not sliding) window bounds the delay
 * of every event to the window, even under a path written continuously.
 *
 * One timer serves every path: entries sit in a Map in the order their
 * windows opened, which is also the order they close, so flushing walks
 * from the head and stops at the first open window.
 */
export class Debouncer<Op> {
  readonly #pending = new Map<string, Pending<Op>>();
  readonly #opts: DebouncerOptions<Op>;
  #timer: NodeJS.Timeout | undefined;
  /** Set once changes were dropped; cleared when the backlog has halved, so a long overload is reported again. */
  #overflowed = false;

  constructor(options: DebouncerOptions<Op>) {
    this.#opts = options;
  }

  get size(): number {
    return this.#pending.size;
  }

  push(path: string, op: Op): void {
    const entry = this.#pending.get(path);
    if (entry) {
      entry.op = op;
      return;
    }
    if (this.#pending.size >= this.#opts.maxPending) {
      if (!this.#overflowed) {
        this.#overflowed = true;
        this.#opts.onOverflow();
      }
      return;
    }
    this.#pending.set(path, { op, due: performance.now() + this.#opts.windowMs });
    if (!this.#timer) this.#schedule(this.#opts.windowMs);
  }

  /** Drops every pending change (the watcher is being deleted). */
  clear(): void {
    this.#pending.clear();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#run(), Math.max(1, Math.ceil(ms)));
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    // Timers may fire a fraction of a millisecond early; 0.5 ms of slack
    // avoids a second wake-up for nothing.
    const now = performance.now() + 0.5;
    for (const [path, entry] of this.#pending) {
      if (entry.due > now) {
        this.#schedule(entry.due - now);
        break;
      }
      this.#pending.delete(path);
      this.#opts.flush(path, entry.op);
    }
    if (this.#pending.size <= this.#opts.maxPending / 2) this.#overflowed = false;
  }
}
