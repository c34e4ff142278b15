// Server-sent events for the logs and the workloads: `event: <name>` / `data: <one-line JSON>` frames written
// with backpressure, a `: ping` comment while idle, and an abort signal for whoever produces the events.
import type { FastifyReply } from 'fastify';
import { SSE_HEADERS, sseFrame } from '../exec/sse.js';
import { type ResponseStream, startStream } from '../http/streaming.js';

export class SseStream {
  readonly #stream: ResponseStream;
  readonly #abort = new AbortController();
  readonly #ping: NodeJS.Timeout;

  constructor(reply: FastifyReply, pingIntervalMs = 15_000) {
    this.#stream = startStream(reply, 200, SSE_HEADERS);
    this.#ping = setInterval(() => void this.#stream.write(': ping\n\n'), pingIntervalMs);
    this.#ping.unref();
    void this.#stream.whenClosed().then(() => this.#stop());
  }

  /** Aborts once the client has gone or the stream ended. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Writes one event; resolves false once the client has gone (the producer then stops). */
  send(name: string, payload: unknown): Promise<boolean> {
    return this.#stream.write(sseFrame(name, payload));
  }

  end(): void {
    this.#stop();
    this.#stream.end();
  }

  #stop(): void {
    clearInterval(this.#ping);
    this.#abort.abort();
  }
}
