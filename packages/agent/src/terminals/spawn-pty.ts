import { existsSync, readSync } from 'node:fs';
import { type IPty, spawn } from 'node-pty';
import { execAsArgs, execAsPath } from '../identity/run-as.js';
import type { RunAs } from '../identity/users.js';

/**
 * node-pty's forkpty leaves every terminal's master (/dev/ptmx) fd open
 * without FD_CLOEXEC, so each new terminal would inherit the masters of all
 * the others (and could read their output, or keep them from ever seeing
 * EOF). The child therefore starts through exec-as (native/exec-as.c), which
 * closes every fd above stdio, switches to the terminal's user (giving it the
 * terminal) and then executes the real command. Without exec-as, bash does
 * the closing (POSIX sh cannot name fds above 9) and node-pty the switch.
 */
const CLOSE_FDS_THEN_EXEC =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template.
  'for f in /proc/self/fd/*; do n=${f##*/}; if [ "$n" -gt 2 ]; then { exec {n}>&-; } 2>/dev/null; fi; done; exec "$@"';

const BASH = ['/bin/bash', '/usr/bin/bash'].find((p) => existsSync(p));

export interface PtySpawnOptions {
  /** Absolute path of the program. */
  file: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** Who the program runs as; undefined: as the agent. */
  runAs?: RunAs | undefined;
  cols: number;
  rows: number;
}

/** Whether new terminals are protected from inheriting other terminals' fds. */
export function closesInheritedFds(): boolean {
  return execAsPath() !== null || BASH !== undefined;
}

/** Starts a program on a new PTY; output arrives as Buffers (binary-safe). */
export function spawnPty(options: PtySpawnOptions): IPty {
  const execAs = execAsPath();
  const { runAs } = options;
  let file: string;
  let args: string[];
  if (execAs !== null) [file, args] = execAsArgs(execAs, options.file, options.file, options.args, { closeFds: true, tty: true, runAs });
  else if (BASH) [file, args] = [BASH, ['-c', CLOSE_FDS_THEN_EXEC, 'cove-pty', options.file, ...options.args]];
  else [file, args] = [options.file, [...options.args]];
  return spawn(file, args, {
    name: options.env.TERM ?? 'xterm-256color',
    cols: options.cols,
    rows: options.rows,
    cwd: options.cwd,
    env: options.env,
    // Without exec-as, node-pty switches (the primary group only).
    ...(runAs && execAs === null ? { uid: runAs.uid, gid: runAs.gid } : {}),
    // null: onData yields Buffers, so non-UTF-8 output survives byte for byte.
    encoding: null,
  });
}

/** node-pty's UnixTerminal beyond its typings: the master's fd and the socket node-pty reads it with. */
export interface PtyInternals {
  _socket?: {
    prependListener(event: 'end', fn: () => void): void;
    destroy?(): void;
    /** Set once destroyed: the master's fd is closed then. */
    destroyed?: boolean;
    _read?: (size: number) => void;
    _handle?: { useUserBuffer?: (buf: Uint8Array) => void };
  };
  _fd?: number;
}

/** Size of the buffer a PTY is read into (a read returns at most about 4 KiB; a drain, more). */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Reads the PTY into one buffer allocated once, instead of node-pty's stream, which allocates a
 * 64 KiB buffer per read and emits it through the stream machinery: a PTY hands out at most
 * about 4 KiB per read, so a program printing fast costs a read (and an allocation, and a
 * 'data' event) per 4 KiB. `onChunk` gets a view that is only valid during the call. This is
 * net.Socket's own `onread: { buffer, callback }` mode, switched on after node-pty made the
 * socket (it takes no options); pause/resume and end of file work as before. Call it right after
 * spawning, before the event loop turns (the socket starts reading on the next tick). Returns false,
 * and changes nothing, when this Node's socket does not have that mode (the caller then uses onData).
 * Measured in bench/results/exec-terminal-profile.md.
 */
export function readIntoOneBuffer(pty: IPty, onChunk: (view: Buffer) => void): boolean {
  const socket = (pty as unknown as PtyInternals)._socket;
  return socket !== undefined && socketIntoOneBuffer(socket, onChunk);
}

/** `readIntoOneBuffer` for any net.Socket (the PTY's, or the pipe of its native reader). */
export function socketIntoOneBuffer(socket: object, onChunk: (view: Buffer) => void, size = READ_BUFFER_BYTES): boolean {
  const s = socket as Record<symbol, unknown> & { _handle?: { useUserBuffer?: (buf: Uint8Array) => void } };
  const handle = s._handle;
  if (typeof handle?.useUserBuffer !== 'function') return false;
  const symbols = Object.getOwnPropertySymbols(s);
  const kBuffer = symbols.find((sym) => sym.description === 'kBuffer');
  const kBufferCb = symbols.find((sym) => sym.description === 'kBufferCb');
  if (!kBuffer || !kBufferCb) return false;
  const buffer = Buffer.allocUnsafe(size);
  s[kBuffer] = buffer;
  s[kBufferCb] = (nread: number) => {
    onChunk(buffer.subarray(0, nread));
  };
  handle.useUserBuffer(buffer);
  return true;
}

/**
 * Recovers the output libuv leaves behind when a program exits.
 *
 * A PTY read returns at most about 4 KiB; when the last process closes the
 * slave, libuv takes the hang-up that comes with a short read as end of
 * file and drops whatever the kernel still holds, so a program that prints
 * more than that just before exiting loses its last lines. At `end` the
 * master fd is still open: reading it dry there (it is non-blocking; EAGAIN
 * or EIO ends the loop) hands over the rest.
 */
export function drainAtEnd(pty: IPty, onChunk: (chunk: Buffer) => void): void {
  const internals = pty as unknown as PtyInternals;
  const fd = internals._fd;
  if (typeof fd !== 'number' || !internals._socket) return;
  internals._socket.prependListener('end', () => {
    for (;;) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch {
        return;
      }
      if (n <= 0) return;
      onChunk(buf.subarray(0, n));
    }
  });
}
