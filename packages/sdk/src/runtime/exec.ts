import type { ExecTaskJson } from '@cove/protocol';
import { toWire } from '../core/case.js';
import { type SseEvent, sseEvents } from '../core/sse.js';
import type { RequestBody, RequestOptions } from '../core/transport.js';
import type { RuntimeHttp } from './runtime-http.js';

/** A task as the agent reports it. */
export type ExecTask = ExecTaskJson;

export interface ExecOptions {
  execMode?: 'auto' | 'shell' | 'direct';
  timeoutSeconds?: number;
  /** Alias of `timeoutSeconds`. */
  timeout?: number;
  ttlSeconds?: number;
  keepLogs?: boolean;
  cwd?: string;
  env?: Record<string, string | null>;
}

/** Events of an exec stream. `stdout`/`stderr` data is base64 (decode with `atob` or `Buffer.from(d, 'base64')`). */
export type ExecEvent =
  | SseEvent<{ event: 'task_id'; task_id: string }>
  | SseEvent<{ event: 'stdout'; data: string }>
  | SseEvent<{ event: 'stderr'; data: string }>
  | SseEvent<{ event: 'output'; stdout?: string; stderr?: string }>
  | SseEvent<{ event: 'exit'; exit_code: number; pid?: number; status?: string; timed_out?: boolean; signal?: string }>;

/**
 * Commands in the workspace (`rt.exec`).
 *
 * @example
 * const result = await rt.exec.run(['echo', 'hello']);
 * console.log(result.exit_code, result.stdout);
 * for await (const ev of rt.exec.stream(['npm', 'install'])) {
 *   if (ev.event === 'stdout') process.stdout.write(atob(ev.data));
 *   if (ev.event === 'exit') console.log(`Done: ${ev.exit_code}`);
 * }
 */
export class Exec {
  readonly #http: RuntimeHttp;

  constructor(http: RuntimeHttp) {
    this.#http = http;
  }

  /** Runs a command and waits for it (`POST /exec`). `cmd` is an argv array or one string. */
  run(cmd: string[] | string, options: ExecOptions = {}, request?: RequestOptions): Promise<ExecTask> {
    return this.#http.json({ method: 'POST', path: '/exec', json: { cmd, ...toWire(options) } }, request);
  }

  /** Runs a command and streams its output as it comes (`POST /exec/stream`, SSE). Breaking out does not kill the task. */
  async *stream(cmd: string[] | string, options: ExecOptions = {}, request: RequestOptions = {}): AsyncGenerator<ExecEvent> {
    const res = await this.#http.send({ method: 'POST', path: '/exec/stream', json: { cmd, ...toWire(options) } }, request);
    if (res.body) yield* sseEvents(res.body, request.signal) as AsyncGenerator<ExecEvent>;
  }

  /** Attaches to a task's output: what it buffered, then live output, then `exit` (`GET /exec/stream`). */
  async *subscribe(taskId: string, request: RequestOptions = {}): AsyncGenerator<ExecEvent> {
    const res = await this.#http.send({ method: 'GET', path: '/exec/stream', query: { task_id: taskId } }, request);
    if (res.body) yield* sseEvents(res.body, request.signal) as AsyncGenerator<ExecEvent>;
  }

  /** Every tracked task (`GET /exec`). */
  async list(request?: RequestOptions): Promise<ExecTask[]> {
    const body = await this.#http.json<{ tasks: ExecTask[] }>({ method: 'GET', path: '/exec' }, request);
    return body.tasks;
  }

  /** One task with its output (`GET /exec/:id`). */
  get(taskId: string, request?: RequestOptions): Promise<ExecTask> {
    return this.#http.json({ method: 'GET', path: `/exec/${encodeURIComponent(taskId)}` }, request);
  }

  /** Kills a task's process group and stops tracking it (`DELETE /exec/:id`). */
  kill(taskId: string, request?: RequestOptions): Promise<{ success: true }> {
    return this.#http.json({ method: 'DELETE', path: `/exec/${encodeURIComponent(taskId)}` }, request);
  }

  /** Kills and forgets every task (`DELETE /exec`). */
  deleteAll(request?: RequestOptions): Promise<{ success: true; deleted: number }> {
    return this.#http.json({ method: 'DELETE', path: '/exec' }, request);
  }

  /** Writes to a running task's stdin (`POST /exec/:id/input`). */
  input(taskId: string, data: string | Uint8Array, request?: RequestOptions): Promise<{ success: true; bytes_written: number }> {
    const body = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return this.#http.json(
      {
        method: 'POST',
        path: `/exec/${encodeURIComponent(taskId)}/input`,
        body: body as RequestBody,
        headers: { 'content-type': 'application/octet-stream' },
      },
      request,
    );
  }

  /** Closes a running task's stdin, so programs that read to end of input finish (`POST /exec/:id/stdin/close`). */
  closeStdin(taskId: string, request?: RequestOptions): Promise<{ success: true }> {
    return this.#http.json({ method: 'POST', path: `/exec/${encodeURIComponent(taskId)}/stdin/close` }, request);
  }

  /** Sends a signal (`'SIGINT'`, `'SIGTERM'`, …) to a task's process group (`POST /exec/:id/signal`). */
  signal(taskId: string, signal: string, request?: RequestOptions): Promise<{ success: true; signal: string }> {
    return this.#http.json({ method: 'POST', path: `/exec/${encodeURIComponent(taskId)}/signal`, json: { signal } }, request);
  }
}
