// The command log: one JSON line per command run through exec (what ran, where, when, how it ended, the end of
// its output), in the agent's state directory so that it survives restarts, bounded by rotation.
import { EventEmitter } from 'node:events';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type CommandRecord, LOG_LIMITS } from '@cove/protocol';
import type { Logger } from 'pino';
import type { Task } from '../exec/task.js';
import { clearLog, readTail, renameRotate, sizeOf } from './log-file.js';

export class CommandLog {
  readonly file: string;
  /** Kept in memory only (an agent without a state directory leaves nothing on disk). */
  readonly inMemory: boolean;
  readonly #lines: string[] = [];
  #memoryBytes = 0;
  readonly #maxBytes: number;
  readonly #log: Logger;
  readonly #events = new EventEmitter();
  /** Appends run one after another, so records land in the order commands finished. */
  #chain: Promise<void> = Promise.resolve();
  #size: number | undefined;

  constructor(dir: string, log: Logger, maxBytes: number = LOG_LIMITS.cmdLogBytes, inMemory = false) {
    this.file = path.join(dir, 'cmd.log');
    this.inMemory = inMemory;
    this.#maxBytes = maxBytes;
    this.#log = log;
    this.#events.setMaxListeners(0);
  }

  /** Records a finished task (the exec domain's hook). Never throws: a full disk loses the record, not the task. */
  record(task: Task): void {
    // Taken now, before the task's output may be discarded; written after the turn that reports the exit
    // (the answer to a waiting `POST /exec` goes out first).
    const record = toRecord(task);
    this.#chain = this.#chain
      .then(afterThisTurn)
      .then(() => this.#append(`${JSON.stringify(record)}\n`))
      .then(
        () => {
          this.#events.emit('record', record);
        },
        (err: Error) => this.#log.warn({ err: err.message }, 'could not write the command log'),
      );
  }

  /** Waits until every record so far is written (tests, clear). */
  flushed(): Promise<void> {
    return this.#chain;
  }

  /** Calls `listener` with each record written from now on; returns the unsubscribe. */
  onRecord(listener: (record: CommandRecord) => void): () => void {
    this.#events.on('record', listener);
    return () => this.#events.off('record', listener);
  }

  /** The last `maxLines` lines (JSON records). */
  async tail(maxLines: number): Promise<string[]> {
    await this.flushed();
    if (this.inMemory) return this.#lines.slice(-maxLines);
    return (await readTail(this.file, maxLines, LOG_LIMITS.maxFileBytes)).lines;
  }

  async clear(): Promise<void> {
    await this.flushed();
    if (this.inMemory) {
      this.#lines.length = 0;
      this.#memoryBytes = 0;
      return;
    }
    const done = this.#chain.then(() => clearLog(this.file));
    this.#chain = done.then(
      () => {
        this.#size = 0;
      },
      () => {},
    );
    await done;
  }

  async #append(line: string): Promise<void> {
    if (this.inMemory) {
      this.#lines.push(line.trimEnd());
      this.#memoryBytes += line.length;
      while (this.#memoryBytes > this.#maxBytes && this.#lines.length > 1) this.#memoryBytes -= (this.#lines.shift() as string).length + 1;
      return;
    }
    this.#size ??= await sizeOf(this.file);
    const bytes = Buffer.byteLength(line);
    if (this.#size > 0 && this.#size + bytes > this.#maxBytes) {
      await renameRotate(this.file);
      this.#size = 0;
    }
    // The directory is made when the file cannot be opened for want of it, not before every record.
    try {
      await appendFile(this.file, line, { mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await appendFile(this.file, line, { mode: 0o600 });
    }
    this.#size += bytes;
  }
}

const afterThisTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The end of a text, at most `max` bytes (cut at a character boundary), and whether it was cut. */
function tailOf(text: string, max: number): { text: string; cut: boolean } {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= max) return { text, cut: false };
  // A continuation byte at the cut is skipped, so the text starts at a whole character.
  let start = buffer.length - max;
  while (start < buffer.length && ((buffer[start] as number) & 0xc0) === 0x80) start++;
  return { text: buffer.subarray(start).toString('utf8'), cut: true };
}

/**
 * The end of a stream's buffered output, at most `max` bytes once encoded: only its last `max` bytes are decoded
 * (a task's whole output may be megabytes), and bytes that are not UTF-8, which decode to three-byte U+FFFD,
 * are cut again to the bound.
 */
function outputTail(ring: Task['stdout'], max: number): { text: string; cut: boolean } {
  if (ring.size === 0) return { text: '', cut: false };
  const raw = ring.tailText(max);
  const bounded = tailOf(raw.text, max);
  return { text: bounded.text, cut: raw.cut || bounded.cut };
}

export function toRecord(task: Task): CommandRecord {
  const max = LOG_LIMITS.cmdOutputBytes;
  const empty = { text: '', cut: false };
  const stdout = task.logsDiscarded ? empty : outputTail(task.stdout, max);
  const stderr = task.logsDiscarded ? empty : outputTail(task.stderr, max);
  const started = task.startedAt ?? null;
  const exited = task.exitedAt ?? null;
  return {
    task_id: task.id,
    command: task.command,
    cwd: task.cwd,
    status: task.status,
    exit_code: task.exitCode ?? null,
    ...(task.signal !== undefined && { signal: task.signal }),
    ...(task.timedOut && { timed_out: true }),
    ...(task.error !== undefined && { error: task.error }),
    started_at: started,
    exited_at: exited,
    duration_ms: started && exited ? Date.parse(exited) - Date.parse(started) : null,
    stdout: stdout.text,
    stderr: stderr.text,
    ...((stdout.cut || task.stdout.truncated) && { stdout_truncated: true }),
    ...((stderr.cut || task.stderr.truncated) && { stderr_truncated: true }),
  };
}

/** A record as a log line: the SDK's `{timestamp, message}` with the record's fields beside them. */
export function recordLine(record: CommandRecord): { message: string; timestamp?: string; source: 'cmd' } & CommandRecord {
  const how = record.exit_code !== null ? `exit ${record.exit_code}` : record.status;
  return {
    ...record,
    source: 'cmd',
    message: `${record.command.join(' ')} (${how}${record.duration_ms !== null ? `, ${record.duration_ms} ms` : ''})`,
    ...(record.exited_at !== null && { timestamp: record.exited_at }),
  };
}

/** One per agent: the exec domain records into it and the logs domain reads it. */
const logs = new WeakMap<object, CommandLog>();

/** The command log of the agent whose context is `ctx` (made at first use, in its state directory). */
export function commandLogOf(ctx: { stateDir: string; stateIsTemporary: boolean; log: Logger }): CommandLog {
  let log = logs.get(ctx);
  if (!log) {
    log = new CommandLog(path.join(ctx.stateDir, 'logs'), ctx.log, LOG_LIMITS.cmdLogBytes, ctx.stateIsTemporary);
    logs.set(ctx, log);
  }
  return log;
}
