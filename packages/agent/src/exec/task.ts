import type { Writable } from 'node:stream';
import type { ExecMode, ExecTaskJson, TaskStatus } from '@cove/protocol';
import type { ProcessIdentity } from '../identity/process-defaults.js';
import type { Invocation } from './command-line.js';
import { launch } from './launch.js';
import { interleave, OutputRing } from './output-ring.js';
import { signalNumber } from './signals.js';
import type { SpawnedProcess, Spawner } from './spawner.js';

/** Limits a task runs under (set per domain; see index.ts for the defaults). */
export interface TaskLimits {
  /** Bytes of stdout and of stderr kept per task (a ring: the most recent ones). */
  outputCap: number;
  /** Between SIGTERM and SIGKILL when a task is killed. */
  killGraceMs: number;
  /** After the main process exits, how long to wait for pipes held open by background children. */
  exitGraceMs: number;
}

/** Something that follows a task's output: an SSE stream, a waiting request. */
export interface TaskListener {
  output(fd: 1 | 2, data: Buffer): void;
  exit(task: Task): void;
}

export interface TaskInit {
  id: string;
  command: string[];
  mode: ExecMode;
  ttlSeconds: number;
  keepLogs: boolean;
  timeoutMs: number;
  cwd: string;
  limits: TaskLimits;
}

/**
 * One command and its process group. The task owns the child's pipes: output
 * goes into bounded rings and to listeners; while a listener cannot keep up
 * it `hold`s the task, which pauses the pipes (the child then blocks on a
 * full pipe, like under ssh) instead of buffering without bound.
 */
export class Task {
  readonly id: string;
  readonly command: string[];
  readonly mode: ExecMode;
  readonly ttlSeconds: number;
  readonly keepLogs: boolean;
  readonly cwd: string;
  readonly createdAt: string;
  status: TaskStatus = 'pending';
  pid: number | undefined;
  startedAt: string | undefined;
  exitedAt: string | undefined;
  /** Wall-clock ms of exit, for TTL expiry. */
  exitedMs = 0;
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut = false;
  error: string | undefined;
  /** Output was discarded after exit (keep_logs false). */
  logsDiscarded = false;
  readonly stdout: OutputRing;
  readonly stderr: OutputRing;

  readonly #limits: TaskLimits;
  readonly #timeoutMs: number;
  #child: SpawnedProcess | undefined;
  #seq = 0;
  #openPipes = 2;
  #mainExited = false;
  #rawCode: number | null = null;
  #rawSignal: NodeJS.Signals | null = null;
  readonly #listeners = new Set<TaskListener>();
  readonly #holds = new Set<object>();
  #timeoutTimer: NodeJS.Timeout | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #onFinish: ((task: Task) => void) | undefined;

  constructor(init: TaskInit) {
    this.id = init.id;
    this.command = init.command;
    this.mode = init.mode;
    this.ttlSeconds = init.ttlSeconds;
    this.keepLogs = init.keepLogs;
    this.cwd = init.cwd;
    this.#limits = init.limits;
    this.#timeoutMs = init.timeoutMs;
    this.createdAt = new Date().toISOString();
    this.stdout = new OutputRing(init.limits.outputCap);
    this.stderr = new OutputRing(init.limits.outputCap);
  }

  get finished(): boolean {
    return this.status === 'exited' || this.status === 'failed';
  }

  get running(): boolean {
    return this.status === 'running' || this.status === 'pending';
  }

  /** The child's stdin while it is open. */
  get stdin(): Writable | undefined {
    const stdin = this.#child?.stdin;
    return stdin && !stdin.destroyed && stdin.writable ? stdin : undefined;
  }

  /**
   * Starts the process in its own process group. Resolves true once running;
   * false if it could not start (status `failed`, `error` set).
   */
  async start(
    invocation: Invocation,
    identity: Pick<ProcessIdentity, 'env' | 'runAs'>,
    spawner: Spawner,
    onFinish: (task: Task) => void,
  ): Promise<boolean> {
    this.#onFinish = onFinish;
    let child: SpawnedProcess;
    try {
      const spawned = launch(spawner, {
        file: invocation.file,
        args: invocation.args,
        cwd: this.cwd,
        env: identity.env,
        runAs: identity.runAs,
      });
      child = spawned instanceof Promise ? await spawned : spawned;
    } catch (err) {
      this.#fail(err as Error);
      return false;
    }
    this.#child = child;
    this.pid = child.pid;
    this.status = 'running';
    this.startedAt = this.createdAt;
    child.stdout.on('data', (data: Buffer) => this.#emit(1, data));
    child.stderr.on('data', (data: Buffer) => this.#emit(2, data));
    // A socket handed over by the spawn helper may already have ended (a task
    // without output) before it reaches us; it then had no data to lose.
    for (const pipe of [child.stdout, child.stderr]) {
      if (pipe.closed) this.#pipeClosed();
      else pipe.once('close', this.#pipeClosed);
    }
    // (stdin's errors are the spawner's: it may make that stream only when it is first used.)
    child.stdout.on('error', () => {});
    child.stderr.on('error', () => {});
    child.onExit((code, signal) => {
      this.#mainExited = true;
      this.#rawCode = code;
      this.#rawSignal = signal;
      if (this.#openPipes > 0) this.#armExitGrace();
      else this.#finish();
    });
    if (this.#timeoutMs > 0) {
      this.#timeoutTimer = setTimeout(() => {
        this.timedOut = true;
        this.kill();
      }, this.#timeoutMs);
      this.#timeoutTimer.unref();
    }
    return true;
  }

  /** Follows output and exit. With `replay`, first gets what the rings hold, in production order. */
  attach(listener: TaskListener, replay: boolean): void {
    if (replay) {
      for (const { fd, chunk } of interleave(this.stdout.chunks(), this.stderr.chunks())) listener.output(fd, chunk.data);
    }
    if (this.finished) listener.exit(this);
    else this.#listeners.add(listener);
  }

  detach(listener: TaskListener): void {
    this.#listeners.delete(listener);
  }

  /** Pauses the pipes until every holder has released (a stream that is not draining). */
  hold(holder: object): void {
    if (this.#holds.size === 0 && this.#child) {
      this.#child.stdout.pause();
      this.#child.stderr.pause();
    }
    this.#holds.add(holder);
  }

  release(holder: object): void {
    if (!this.#holds.delete(holder) || this.#holds.size > 0 || !this.#child) return;
    this.#child.stdout.resume();
    this.#child.stderr.resume();
  }

  /** Sends a signal to the whole process group. False if the group is gone. */
  signalGroup(sig: NodeJS.Signals | number): boolean {
    if (this.pid === undefined) return false;
    try {
      process.kill(-this.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM to the group, SIGKILL after the grace period; stdin is closed. */
  kill(): void {
    this.closeStdin();
    if (this.pid === undefined) return;
    if (!this.signalGroup('SIGTERM')) return;
    const pid = this.pid;
    setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    }, this.#limits.killGraceMs).unref();
  }

  closeStdin(): void {
    const stdin = this.#child?.stdin;
    if (stdin && !stdin.destroyed) stdin.end();
  }

  /** Drops the output once nobody may read it any more. */
  discardLogs(): void {
    this.stdout.clear();
    this.stderr.clear();
    this.logsDiscarded = true;
  }

  /** The wire task object; `withOutput` adds stdout/stderr (what `GET /exec/:id` shows). */
  toJSON(withOutput = true): ExecTaskJson {
    const output = withOutput && !this.logsDiscarded;
    // Keys in the reference's order (insertion order); optional ones only when they apply. Assigned one by
    // one: object spreads of conditional parts cost several times more on the request path.
    const json: Record<string, unknown> = { id: this.id, command: this.command, status: this.status };
    if (this.pid !== undefined) json.guest_pid = this.pid;
    if (this.exitCode !== undefined) json.exit_code = this.exitCode;
    if (this.signal !== undefined) json.signal = this.signal;
    if (this.timedOut) json.timed_out = true;
    if (this.error !== undefined) json.error = this.error;
    if (output) {
      json.stdout = this.stdout.text();
      json.stderr = this.stderr.text();
      if (this.stdout.truncated) json.stdout_truncated = true;
      if (this.stderr.truncated) json.stderr_truncated = true;
    }
    json.created_at = this.createdAt;
    if (this.startedAt !== undefined) json.started_at = this.startedAt;
    if (this.exitedAt !== undefined) json.exited_at = this.exitedAt;
    json.ttl_seconds = this.ttlSeconds;
    json.exec_mode = this.mode;
    json.cwd = this.cwd;
    json.keep_logs = this.keepLogs;
    return json as unknown as ExecTaskJson;
  }

  /** The `exit` SSE payload. */
  exitEvent(): Record<string, unknown> {
    const out: Record<string, unknown> = { exit_code: this.exitCode ?? -1, pid: this.pid ?? 0, status: this.status };
    if (this.signal !== undefined) out.signal = this.signal;
    if (this.timedOut) out.timed_out = true;
    return out;
  }

  #emit(fd: 1 | 2, data: Buffer): void {
    (fd === 1 ? this.stdout : this.stderr).push(++this.#seq, data);
    for (const listener of this.#listeners) listener.output(fd, data);
  }

  readonly #pipeClosed = (): void => {
    this.#openPipes--;
    if (this.#openPipes === 0 && this.#mainExited) this.#finish();
  };

  /**
   * Background children may keep the pipes open after the main process exits.
   * Exit is reported once the pipes close, or after the grace period (counted
   * only while output flows: a paused reader is not the children's fault);
   * then our ends are closed and later writes of those children fail with EPIPE.
   */
  #armExitGrace(): void {
    this.#graceTimer = setTimeout(() => {
      if (this.finished) return;
      if (this.#holds.size > 0) {
        this.#armExitGrace();
        return;
      }
      this.#child?.stdout.destroy();
      this.#child?.stderr.destroy();
      this.#finish();
    }, this.#limits.exitGraceMs);
    this.#graceTimer.unref();
  }

  #finish(): void {
    if (this.finished) return;
    clearTimeout(this.#timeoutTimer);
    clearTimeout(this.#graceTimer);
    this.status = 'exited';
    this.exitedMs = Date.now();
    this.exitedAt = new Date(this.exitedMs).toISOString();
    if (this.#rawSignal !== null) {
      this.signal = this.#rawSignal;
      this.exitCode = 128 + signalNumber(this.#rawSignal);
    } else if (this.#rawCode === null) {
      // Neither a code nor a signal: the spawn helper that watched the process died.
      this.exitCode = -1;
      this.error = 'exit status lost (the spawn helper exited)';
    } else this.exitCode = this.#rawCode;
    this.#child?.dropStdin();
    this.#holds.clear();
    this.#notifyExit();
  }

  #fail(err: Error): void {
    this.status = 'failed';
    this.exitedMs = Date.now();
    this.exitedAt = new Date(this.exitedMs).toISOString();
    const code = (err as NodeJS.ErrnoException).code;
    this.error = `failed to start process: ${code ?? err.message}`;
    this.#notifyExit();
  }

  #notifyExit(): void {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener.exit(this);
    this.#onFinish?.(this);
  }
}
