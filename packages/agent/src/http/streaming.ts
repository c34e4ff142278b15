import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * A response body written by hand (NDJSON, SSE, tar, raw bytes) that respects
 * backpressure: `write` resolves once the chunk is accepted, waiting for
 * `drain` when the socket's buffer is full, and resolves `false` once the
 * client has gone, so producers stop instead of buffering without bound.
 */
export class ResponseStream {
  readonly raw: ServerResponse;
  #closed = false;
  readonly #closeWaiters = new Set<() => void>();

  constructor(raw: ServerResponse) {
    this.raw = raw;
    raw.on('close', () => {
      this.#closed = true;
      for (const wake of this.#closeWaiters) wake();
      this.#closeWaiters.clear();
    });
  }

  /** True once the client disconnected or the body ended. */
  get closed(): boolean {
    return this.#closed || this.raw.destroyed || this.raw.writableEnded;
  }

  /** Writes a chunk; resolves false if the client is gone. */
  async write(chunk: string | Uint8Array): Promise<boolean> {
    if (this.closed) return false;
    if (this.raw.write(chunk)) return true;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        this.raw.off('drain', onDrain);
        this.#closeWaiters.delete(onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      this.raw.once('drain', onDrain);
      this.#closeWaiters.add(onClose);
    });
  }

  /** Resolves when the client disconnects (or the body ends). */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.add(resolve));
  }

  end(chunk?: string | Uint8Array): void {
    if (this.raw.writableEnded || this.raw.destroyed) return;
    if (chunk === undefined) this.raw.end();
    else this.raw.end(chunk);
  }
}

/**
 * Takes the response over from Fastify and sends the status and headers.
 * Call only after every check that could still answer with an error.
 */
export function startStream(reply: FastifyReply, status: number, headers: Record<string, string | number>): ResponseStream {
  reply.hijack();
  reply.raw.writeHead(status, headers);
  reply.raw.flushHeaders();
  return new ResponseStream(reply.raw);
}
