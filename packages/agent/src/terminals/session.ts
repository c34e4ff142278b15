import type { IPty } from 'node-pty';
import { NativePtyReader } from './pty-reader.js';
import { RingBuffer } from './ring-buffer.js';
import { drainAtEnd, type PtyInternals, readIntoOneBuffer } from './spawn-pty.js';

/** Largest output frame sent in one piece (id byte included). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** A read this long filled the PTY's buffer (Linux hands out at most about 4 KiB per read). */
const FULL_READ_BYTES = 4000;
/** How long streaming output is gathered into one frame. */
const BULK_DELAY_MS = 1;
/** First size of a frame being gathered: small for typing, larger once output streams; doubled as needed. */
const SMALL_FRAME_BYTES = 16 * 1024;
const BULK_FRAME_BYTES = 64 * 1024;

export interface SessionEvents {
  /** One coalesced output frame: `[id_byte][data]`. */
  output(frame: Buffer): void;
  /** The process exited; all its output has been delivered first. */
  exit(code: number): void;
}

export interface SessionInit {
  id: number;
  command: string[];
  cols: number;
  rows: number;
  scrollbackSize: number;
  pty: IPty;
  events: SessionEvents;
  /** The native reader of the PTY's output (native/pty-reader.c); null or absent: the agent reads it. */
  reader?: string | null | undefined;
}

/**
 * One terminal: a process on a PTY, the ring buffer of its output and its
 * exit status.
 *
 * Output chunks that arrive within one event-loop turn are coalesced into a
 * single `[id][data]` frame (a shell redrawing a prompt emits many tiny
 * reads); the frame goes into the ring buffer and out to the hub together,
 * so a client that connects in between sees each byte exactly once.
 */
export class TerminalSession {
  readonly id: number;
  readonly command: string[];
  readonly createdAt = new Date();
  readonly scrollback: RingBuffer;
  cols: number;
  rows: number;
  alive = true;
  exitCode = 0;
  exitedAt: number | undefined;
  /** Set once a client asked to close it: no longer listed, id held until the process is gone. */
  closing = false;
  readonly #pty: IPty;
  readonly #events: SessionEvents;
  /** Reads the output when it could be started; else the agent reads the PTY itself. */
  readonly #reader: NativePtyReader | undefined;
  /** The frame being gathered: `[id][data]`, `#pendingBytes` of data so far. */
  #frame: Buffer | undefined;
  #pendingBytes = 0;
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #paused = false;
  #exited: Promise<void>;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.command = init.command;
    this.cols = init.cols;
    this.rows = init.rows;
    this.scrollback = new RingBuffer(init.scrollbackSize);
    this.#pty = init.pty;
    this.#events = init.events;
    const onData = (view: Buffer) => this.#onData(view);
    this.#reader = init.reader ? NativePtyReader.start(this.#pty, init.reader, onData) : undefined;
    if (!this.#reader) {
      // Reads go into one reused buffer when this Node allows it; else node-pty's 'data' events
      // (Buffers when spawned with `encoding: null`; its typings say string).
      if (!readIntoOneBuffer(this.#pty, onData)) this.#pty.onData((chunk) => this.#onData(chunk as unknown as Buffer));
      drainAtEnd(this.#pty, onData);
    }
    this.#exited = new Promise((resolve) => {
      this.#pty.onExit(({ exitCode, signal }) => {
        const finish = () => {
          this.#flush();
          this.alive = false;
          this.exitCode = signal ? 128 + signal : exitCode;
          this.exitedAt = Date.now();
          this.#events.exit(this.exitCode);
          resolve();
        };
        const reader = this.#reader;
        if (!reader || reader.ended) return finish();
        // The program is gone but something (a background child) still holds the terminal: the reader
        // hands over what the master holds and exits, so the exit notice still follows all output.
        reader.finish();
        void reader.done.then(finish);
      });
    });
  }

  get pid(): number {
    return this.#pty.pid;
  }

  get idString(): string {
    return String(this.id);
  }

  /** Resolves once the process has exited and its output was delivered. */
  get exited(): Promise<void> {
    return this.#exited;
  }

  write(data: Buffer): void {
    if (this.alive && !this.#hungUp && data.length > 0) this.#pty.write(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.alive || this.#hungUp) return;
    this.#pty.resize(cols, rows);
    this.cols = cols;
    this.rows = rows;
  }

  /** Stops reading the PTY: the program blocks once the kernel's buffer is full. */
  pause(): void {
    if (this.#paused || !this.alive) return;
    this.#paused = true;
    if (this.#reader) this.#reader.pause();
    else this.#pty.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.alive) return;
    if (this.#reader) this.#reader.resume();
    else this.#pty.resume();
  }

  /**
   * Signals the process group (the program and whatever it started in the
   * foreground), falling back to the process alone.
   */
  signal(sig: NodeJS.Signals): void {
    if (!this.alive) return;
    for (const target of [-this.pid, this.pid]) {
      try {
        process.kill(target, sig);
      } catch {
        // Already gone, or not a group leader: the other target covers it.
      }
    }
  }

  /**
   * Hangs up the terminal as closing a terminal window does: the master is
   * closed (the kernel hangs up the session; reads of the slave fail) and
   * the process group gets SIGHUP; SIGKILL follows after `graceMs`. The
   * close matters: a shell that is still setting up its prompt can miss a
   * bare SIGHUP, but not a hung-up terminal.
   */
  async terminate(graceMs: number): Promise<void> {
    if (!this.alive) return;
    // UnixTerminal.destroy closes the master; IPty's typings do not declare it.
    const unix = this.#pty as IPty & { destroy?: () => void };
    if (unix.destroy) unix.destroy();
    // The reader's copy of the master too, or the program would never see the hang-up.
    this.#reader?.kill();
    this.signal('SIGHUP');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /**
   * The agent's copy of the master is closed (node-pty's socket on it is destroyed): the terminal was
   * closed, its reader died (killed from outside: the session then lives on while its program ignores
   * the hang-up), or the program ended and its exit is on its way. The fd number may already name
   * another file, such as a newer terminal's master, so the session no longer resizes or writes it.
   */
  get #hungUp(): boolean {
    return (this.#pty as unknown as PtyInternals)._socket?.destroyed === true;
  }

  /** Takes a chunk of output; it is copied at once (the reader reuses its buffer). */
  #onData(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (1 + this.#pendingBytes + chunk.length > MAX_FRAME_BYTES) {
      this.#flush();
      // Only a drain at exit reads more than a frame holds at once.
      if (1 + chunk.length > MAX_FRAME_BYTES) {
        for (let at = 0; at < chunk.length; at += MAX_FRAME_BYTES - 1) this.#onData(chunk.subarray(at, at + MAX_FRAME_BYTES - 1));
        return;
      }
    }
    this.#append(chunk);
    if (1 + this.#pendingBytes >= MAX_FRAME_BYTES) this.#flush();
    else if (chunk.length >= FULL_READ_BYTES) {
      // A full read: the program is streaming and more is on its way. Gathering it for a moment
      // sends far fewer frames (less CPU on both ends) at the same pace.
      if (!this.#immediate && !this.#timer) this.#timer = setTimeout(this.#flushNow, BULK_DELAY_MS);
    } else if (!this.#immediate) {
      // A short read (an echo, a prompt): out on the next turn, for interactive latency.
      this.#immediate = setImmediate(this.#flushNow);
    }
  }

  readonly #flushNow = (): void => this.#flush();

  #append(chunk: Buffer): void {
    const needed = 1 + this.#pendingBytes + chunk.length;
    let frame = this.#frame;
    if (!frame || frame.length < needed) {
      let size = frame ? frame.length * 2 : chunk.length >= FULL_READ_BYTES ? BULK_FRAME_BYTES : SMALL_FRAME_BYTES;
      while (size < needed) size *= 2;
      const grown = Buffer.allocUnsafe(Math.min(size, MAX_FRAME_BYTES));
      grown[0] = this.id;
      if (frame) frame.copy(grown, 1, 1, 1 + this.#pendingBytes);
      this.#frame = frame = grown;
    }
    chunk.copy(frame, 1 + this.#pendingBytes);
    this.#pendingBytes += chunk.length;
  }

  #flush(): void {
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pendingBytes === 0 || !this.#frame) return;
    // The frame's buffer goes with it (queued on sockets); the next frame starts a new one.
    const frame = this.#frame.subarray(0, 1 + this.#pendingBytes);
    this.#frame = undefined;
    this.#pendingBytes = 0;
    this.scrollback.push(frame.subarray(1));
    this.#events.output(frame);
  }
}
