import { lines } from './lines.js';

/** One server-sent event: its name and its JSON data's fields. */
export type SseEvent<T = Record<string, unknown>> = { event: string } & T;

/**
 * Parses an SSE body into events: `event:` names the next `data:`; data is
 * JSON; comments (`: ping`) and blank lines are skipped.
 */
export async function* sseEvents<T>(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseEvent<T>> {
  let name = 'message';
  let data: string[] = [];
  for await (const line of lines(body, signal)) {
    if (line === '') {
      if (data.length > 0) {
        const event = parse<T>(name, data.join('\n'));
        if (event) yield event;
      }
      name = 'message';
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length > 0) {
    const event = parse<T>(name, data.join('\n'));
    if (event) yield event;
  }
}

function parse<T>(name: string, text: string): SseEvent<T> | undefined {
  try {
    const value = JSON.parse(text) as T;
    return { ...(value as object), event: name } as SseEvent<T>;
  } catch {
    return undefined;
  }
}
