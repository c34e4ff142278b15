import type { FastifyReply } from 'fastify';
import { type ResponseStream, startStream } from '../http/streaming.js';
import { type FrameSlots, sharedFrameSlots } from './frames/frame-slots.js';
import type { Task, TaskListener } from './task.js';

export interface SseOptions {
  /** Interval of `: ping` comments that keep proxies from closing an idle stream. */
  pingIntervalMs: number;
  /** A reader that takes longer than this to drain is disconnected (the task goes on). */
  stallTimeoutMs: number;
  /** Bytes queued on the socket before the task's pipes are paused. */
  softLimit: number;
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
};

const STDOUT_HEAD = Buffer.from('event: stdout\ndata: {"data":"', 'latin1');
const STDERR_HEAD = Buffer.from('event: stderr\ndata: {"data":"', 'latin1');
const FRAME_TAIL = Buffer.from('"}\n\n', 'latin1');

/**
 * The `stdout`/`stderr` frame of one output chunk, as one Buffer: `event: stdout\ndata:
 * {"data":"<base64>"}\n\n`. base64 never needs JSON escaping, so no JSON.stringify; the base64
 * text is copied once, straight into the frame (a template string would be flattened, then
 * copied again by the socket write). See bench/results/exec-terminal-profile.md. Streams build
 * the same bytes in WebAssembly memory when they can (`SseTaskStream.output`); this is the path
 * when they cannot.
 */
export function outputFrame(fd: 1 | 2, data: Buffer): Buffer {
  const head = fd === 1 ? STDOUT_HEAD : STDERR_HEAD;
  const text = data.toString('base64');
  const frame = Buffer.allocUnsafe(head.length + text.length + FRAME_TAIL.length);
  head.copy(frame, 0);
  frame.write(text, head.length, 'latin1');
  FRAME_TAIL.copy(frame, head.length + text.length);
  return frame;
}

/** One SSE frame: `event: <name>\ndata: <one-line JSON>\n\n`. */
export function sseFrame(name: string, payload: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
}

/**
 * A task's output as an SSE response. Chunks go out base64-encoded as they
 * arrive; once more than `softLimit` bytes wait on the socket the task is
 * held (its pipes paused) until the socket drains, so a slow reader slows
 * the task instead of growing the agent's memory. A reader that stays stalled
 * is disconnected, and a reader that disconnects releases the task, which
 * then runs on. The stream ends after the `exit` event.
 */
export class SseTaskStream implements TaskListener {
  readonly #stream: ResponseStream;
  readonly #task: Task;
  readonly #options: SseOptions;
  #ping: NodeJS.Timeout | undefined;
  #stall: NodeJS.Timeout | undefined;
  #held = false;
  #done = false;
  /** The WebAssembly frame encoder, if the engine has one. */
  readonly #slots: FrameSlots | undefined = sharedFrameSlots();
  /** Frames in encoder slots written to the response and not yet done with, oldest first. */
  readonly #leased: Buffer[] = [];

  private constructor(stream: ResponseStream, task: Task, options: SseOptions) {
    this.#stream = stream;
    this.#task = task;
    this.#options = options;
    const raw = stream.raw;
    raw.on('drain', this.#onDrain);
    raw.once('close', this.#cleanup);
    raw.once('close', this.#releaseAll);
    // A pipelined response (a request sent on a connection whose previous response is still being
    // written) has no socket yet: its frames wait in the response. When the connection drops, Node
    // closes only the response holding the socket, so this one would never emit 'close': its slots
    // and the task it holds would stay taken for good. The connection's own 'close' ends it (the
    // socket's handle is closed by then, so none of its frames is read any more).
    const connection = raw.req?.socket;
    if (connection && connection !== raw.socket) {
      const gone = (): void => {
        raw.destroy();
        this.#releaseAll();
        this.#cleanup();
      };
      connection.once('close', gone);
      raw.once('close', () => connection.off('close', gone));
    }
    this.#ping = setInterval(() => {
      if (!stream.closed) raw.write(': ping\n\n');
    }, options.pingIntervalMs);
    this.#ping.unref();
  }

  /** Starts the response and follows a task; `taskIdEvent` first announces its id. */
  static follow(reply: FastifyReply, task: Task, options: SseOptions, taskIdEvent: boolean): SseTaskStream {
    const stream = startStream(reply, 200, SSE_HEADERS);
    stream.raw.socket?.setNoDelay(true);
    const sse = new SseTaskStream(stream, task, options);
    if (taskIdEvent) stream.raw.write(sseFrame('task_id', { task_id: task.id }));
    task.attach(sse, true);
    return sse;
  }

  /** A finished task: its buffered output as raw text, then `exit`, then the end. */
  static replayFinished(reply: FastifyReply, task: Task): void {
    const stream = startStream(reply, 200, SSE_HEADERS);
    const output = task.logsDiscarded ? { stdout: '', stderr: '' } : { stdout: task.stdout.text(), stderr: task.stderr.text() };
    stream.end(sseFrame('output', output) + sseFrame('exit', task.exitEvent()));
  }

  output(fd: 1 | 2, data: Buffer): void {
    if (this.#stream.closed) return;
    const raw = this.#stream.raw;
    const frame = this.#slots?.frame(fd === 1 ? STDOUT_HEAD : STDERR_HEAD, FRAME_TAIL, data);
    if (frame === undefined) raw.write(outputFrame(fd, data));
    else {
      this.#leased.push(frame);
      raw.write(frame, this.#written);
    }
    if (!this.#held && raw.writableLength > this.#options.softLimit) {
      this.#held = true;
      this.#task.hold(this);
      this.#stall = setTimeout(() => raw.destroy(), this.#options.stallTimeoutMs);
      this.#stall.unref();
    }
  }

  exit(task: Task): void {
    if (!this.#stream.closed) this.#stream.end(sseFrame('exit', task.exitEvent()));
    this.#cleanup();
  }

  /**
   * A leased frame's write is done: the socket has its bytes (or has failed). Writes complete in
   * order, so it is the oldest; one that never calls back (a write on a socket already destroyed)
   * is freed by a later one, or at `close`.
   */
  readonly #written = (): void => {
    const frame = this.#leased.shift();
    if (frame !== undefined) this.#slots?.release(frame);
  };

  /** The response is closed: its socket has finished (or dropped) every write, so every slot is free. */
  readonly #releaseAll = (): void => {
    for (const frame of this.#leased.splice(0)) this.#slots?.release(frame);
  };

  readonly #onDrain = (): void => {
    if (!this.#held) return;
    this.#held = false;
    clearTimeout(this.#stall);
    this.#task.release(this);
  };

  readonly #cleanup = (): void => {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#ping);
    clearTimeout(this.#stall);
    this.#task.detach(this);
    if (this.#held) this.#task.release(this);
    this.#stream.raw.off('drain', this.#onDrain);
  };
}
