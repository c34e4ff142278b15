import type { LogFileInfo, LogLine, LogSource } from '@cove/protocol';
import { sseEvents } from '../core/sse.js';
import type { RequestOptions, Transport } from '../core/transport.js';

export type { LogFileInfo, LogLine, LogSource };

const path = (id: string, rest = '') => `/workspace/${encodeURIComponent(id)}/logs${rest}`;

/**
 * A workspace's logs (`client.workspaces.logs`): the boot log (its start-up and its agent's output), the command
 * log (one record per command run through exec: command, times, exit code, the end of its output), and the log
 * files (those two and the workloads'), by name.
 *
 * @example
 * const { logs } = await client.workspaces.logs.get('ws_a1b2c3d4', { source: 'cmd', tail_lines: 20 });
 * for await (const line of client.workspaces.logs.streamBoot('ws_a1b2c3d4', { follow: true })) console.log(line.message);
 */
export class Logs {
  readonly #t: Transport;

  constructor(transport: Transport) {
    this.#t = transport;
  }

  /** The end of the boot log (default) or of the command log. */
  get(
    id: string,
    params: { source?: LogSource; tail_lines?: number } = {},
    request?: RequestOptions,
  ): Promise<{ success: true; source: LogSource; logs: LogLine[] }> {
    return this.#t.json({ method: 'GET', path: path(id), query: params }, request);
  }

  /** Empties the boot log and the command log (or the `source` given). */
  clear(id: string, params: { source?: LogSource } = {}, request?: RequestOptions): Promise<{ success: true; cleared: LogSource[] }> {
    return this.#t.json({ method: 'DELETE', path: path(id), query: params }, request);
  }

  async listFiles(id: string, request?: RequestOptions): Promise<LogFileInfo[]> {
    const res = await this.#t.json<{ files: LogFileInfo[] }>({ method: 'GET', path: path(id, '/list') }, request);
    return res.files;
  }

  /** The end of a log file (its last `tail_lines` lines, at most 1 MiB), by its name in `listFiles`. */
  getFile(
    id: string,
    name: string,
    params: { tail_lines?: number } = {},
    request?: RequestOptions,
  ): Promise<{ success: true; name: string; size: number; modified?: string; content: string; truncated: boolean }> {
    return this.#t.json({ method: 'GET', path: path(id, `/file/${encodeURIComponent(name)}`), query: params }, request);
  }

  /** The boot log's end; with `follow`, then each line as it is written. */
  async *streamBoot(
    id: string,
    params: { tail_lines?: number; follow?: boolean } = {},
    request: RequestOptions = {},
  ): AsyncGenerator<LogLine> {
    yield* this.#stream(path(id, '/stream/boot'), params, request);
  }

  /** The command log's end, then each command as it finishes (unless `follow: false`). */
  async *streamCmd(
    id: string,
    params: { tail_lines?: number; follow?: boolean } = {},
    request: RequestOptions = {},
  ): AsyncGenerator<LogLine> {
    yield* this.#stream(path(id, '/stream/cmd'), params, request);
  }

  async *#stream(streamPath: string, params: { tail_lines?: number; follow?: boolean }, request: RequestOptions): AsyncGenerator<LogLine> {
    const res = await this.#t.send(
      {
        method: 'GET',
        path: streamPath,
        query: { tail_lines: params.tail_lines, follow: params.follow },
        headers: { accept: 'text/event-stream' },
      },
      request,
    );
    if (!res.body) return;
    for await (const { event, ...line } of sseEvents<LogLine>(res.body, request.signal)) {
      if (event === 'log') yield line as LogLine;
    }
  }
}
