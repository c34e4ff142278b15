import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';

/** One SSE event as the official SDK sees it: the name plus the parsed one-line JSON. */
export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/**
 * A strict SSE reader: only `event: ` / `data: ` lines with the space, one-line
 * JSON data, comments counted apart. It fails on anything else, so the tests
 * check the exact frame layout the SDK depends on.
 */
export class SseParser {
  events: SseEvent[] = [];
  comments: string[] = [];
  #buffer = '';
  #name: string | undefined;

  push(text: string): SseEvent[] {
    this.#buffer += text;
    const out: SseEvent[] = [];
    let nl = this.#buffer.indexOf('\n');
    while (nl >= 0) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line.startsWith(':')) this.comments.push(line);
      else if (line.startsWith('event: ')) {
        if (this.#name !== undefined) throw new Error(`two event lines in a row: ${line}`);
        this.#name = line.slice(7);
      } else if (line.startsWith('data: ')) {
        if (this.#name === undefined) throw new Error(`data without event: ${line.slice(0, 80)}`);
        const ev = { event: this.#name, data: JSON.parse(line.slice(6)) as Record<string, unknown> };
        this.events.push(ev);
        out.push(ev);
        this.#name = undefined;
      } else if (line !== '') throw new Error(`unexpected SSE line: ${line.slice(0, 80)}`);
      nl = this.#buffer.indexOf('\n');
    }
    return out;
  }

  get rest(): string {
    return this.#buffer;
  }
}

/** Concatenates the decoded base64 `data` of one stream's events. */
export function decoded(events: SseEvent[], name: 'stdout' | 'stderr'): Buffer {
  return Buffer.concat(events.filter((e) => e.event === name).map((e) => Buffer.from(String(e.data.data), 'base64')));
}

/** Reads a whole SSE response with fetch. */
export async function readSse(res: Response): Promise<{ events: SseEvent[]; comments: string[]; raw: string }> {
  const parser = new SseParser();
  const raw = await res.text();
  parser.push(raw);
  if (parser.rest !== '') throw new Error(`stream ended mid-line: ${parser.rest.slice(0, 80)}`);
  return { events: parser.events, comments: parser.comments, raw };
}

/** Opens an SSE request with node:http, for tests that read slowly or disconnect. */
export function openSse(url: string, token: string, method: string, path: string, body?: unknown): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end(payload);
  });
}

/** Waits until `check` returns a truthy value (polling), or fails after `tries`. */
export async function until<T>(check: () => Promise<T> | T, what: string, tries = 200, everyMs = 25): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
