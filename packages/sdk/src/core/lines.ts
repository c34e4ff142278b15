import { AbortError } from './errors.js';

/**
 * Splits a byte stream into text lines as they arrive. Reading stops (and
 * the request is cancelled) when the consumer stops iterating; an aborted
 * `signal` ends the stream with `AbortError`.
 */
export async function* lines(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const onAbort = () => {
    reader.cancel().catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (signal?.aborted) throw new AbortError('stream aborted');
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        yield buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
      }
    }
    buffer += decoder.decode();
    if (buffer.length > 0) yield buffer;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Breaking out of a `for await` lands here: cancel the body so the request ends.
    await reader.cancel().catch(() => {});
  }
}
