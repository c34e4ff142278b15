import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { IPty } from 'node-pty';
import { isExecutable } from './shell.js';
import { type PtyInternals, socketIntoOneBuffer } from './spawn-pty.js';

/** Where `npm ci` builds it (packages/agent/native/build), from src/ and dist/ alike. */
const BUILT = fileURLToPath(new URL('../../native/build/pty-reader', import.meta.url));

let located: string | null | undefined;

/**
 * The agent's read buffer for the reader's output: larger than the reader's writes (64 KiB at most), so
 * that a read which empties the socket is a short one. libuv reads a stream again and again (up to 32 times)
 * as long as each read fills the buffer; with equal sizes a flood kept the agent reading for up to 2 MiB
 * before it served anything else.
 */
const OUTPUT_BUFFER_BYTES = 256 * 1024;

/** pty-reader (`COVE_PTY_READER`, else the one `npm ci` built), or null when there is none. Looked up once. */
export function ptyReaderPath(): string | null {
  if (located === undefined) located = usableReader(process.env.COVE_PTY_READER || BUILT);
  return located;
}

/** `file` when it is an executable file on Linux, else null. */
export function usableReader(file: string): string | null {
  return process.platform === 'linux' && isExecutable(file) ? file : null;
}

/**
 * A terminal's output read by native/pty-reader.c instead of the agent's event loop.
 *
 * A PTY master hands out at most about 4 KiB per read, so a program printing fast cost the agent an
 * event-loop turn per 4 KiB; the reader does those reads in a small C loop and writes what it gathered
 * (after full reads, up to 64 KiB or a millisecond; a short read such as an echo at once) into a
 * socket the agent reads up to 256 KiB at a time. The agent keeps its own copy of the master for input (node-pty's
 * write) and resizing (TIOCSWINSZ on it); its socket on the master never reads.
 *
 * The terminal hangs up only once both copies of the master are closed: `kill()` (closing a terminal)
 * ends the reader at once, `finish()` (the program exited but something still holds the slave) lets it
 * hand over what the master holds first. When the agent dies its end of the socket closes, and the reader,
 * which watches it, exits.
 */
export class NativePtyReader {
  readonly #child: ChildProcess;
  readonly #output: Socket;
  #ended = false;
  /** Resolves once the reader's output ended: every byte it read was handed to `onChunk`. */
  readonly done: Promise<void>;

  private constructor(child: ChildProcess, output: Socket, pty: IPty, onChunk: (view: Buffer) => void) {
    this.#child = child;
    this.#output = output;
    if (!socketIntoOneBuffer(output, onChunk, OUTPUT_BUFFER_BYTES)) output.on('data', (chunk: Buffer) => onChunk(chunk));
    this.done = new Promise((resolve) => {
      const ended = () => {
        if (this.#ended) return;
        this.#ended = true;
        // The master hung up (or the reader is gone): node-pty's socket never reads, so it would learn of
        // the end only by its own 200 ms timeout after the exit. Closing it now lets the exit through.
        (pty as unknown as PtyInternals)._socket?.destroy?.();
        resolve();
      };
      output.once('end', ended);
      output.once('close', ended);
      output.on('error', ended);
    });
    output.resume();
  }

  /**
   * Starts the reader on `pty`'s master; right after spawning, before the event loop turns (node-pty's
   * socket starts reading on the next tick). Undefined, with nothing changed, when it cannot be started:
   * the caller then reads the PTY itself.
   */
  static start(pty: IPty, readerPath: string, onChunk: (view: Buffer) => void): NativePtyReader | undefined {
    const internals = pty as unknown as PtyInternals;
    const fd = internals._fd;
    const socket = internals._socket;
    if (typeof fd !== 'number' || !socket) return undefined;
    // fd 3, not stdin: libuv makes a child's stdin blocking, which would turn the agent's copy blocking too.
    const child = spawn(readerPath, [], { stdio: ['ignore', 'pipe', 'ignore', fd] });
    // A failed spawn also reports through 'error' (on the next tick); its pid tells at once.
    child.on('error', () => {});
    if (child.pid === undefined || !child.stdout) {
      child.stdout?.destroy();
      return undefined;
    }
    // From now on only the reader reads the master: node-pty's socket must never take a byte.
    socket._read = () => {};
    // A stdio pipe of a child is a net.Socket (typed as a Readable).
    return new NativePtyReader(child, child.stdout as Socket, pty, onChunk);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Stops taking output: the reader blocks on its write, stops reading, and the program on its own writes. */
  pause(): void {
    this.#output.pause();
  }

  resume(): void {
    this.#output.resume();
  }

  /** The reader hands over what the master holds now (up to 1 MiB), then exits. */
  finish(): void {
    if (!this.#ended) this.#child.kill('SIGTERM');
  }

  /** Ends the reader at once, closing its copy of the master (the terminal hangs up once the agent's is closed too). */
  kill(): void {
    if (!this.#ended) this.#child.kill('SIGKILL');
  }
}
