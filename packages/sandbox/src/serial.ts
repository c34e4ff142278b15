/** Runs functions one after another per key (concurrent calls on one workspace never interleave). */
export class KeyedSerial {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.then(
      () => {},
      () => {},
    );
    this.#tails.set(key, settled);
    try {
      return await next;
    } finally {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    }
  }
}
