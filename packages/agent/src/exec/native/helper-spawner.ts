import { type ChildProcess, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { signalName } from '../signals.js';
import { SpawnError, type SpawnedProcess, type Spawner, type SpawnRequest } from '../spawner.js';

/** A spawn the helper has not answered within this time fails. */
const SPAWN_TIMEOUT_MS = 10_000;

type ExitCallback = (code: number | null, signal: NodeJS.Signals | null) => void;

/** A bare stream handle as Node's IPC layer hands it over (`net.Native`): a descriptor, not yet a stream. */
interface NativeHandle {
  close(callback?: () => void): void;
}

interface Pending {
  resolve: (p: SpawnedProcess) => void;
  reject: (err: Error) => void;
  /** stdin as a bare handle, stdout and stderr as sockets. */
  stdin: NativeHandle | undefined;
  sockets: Array<Socket | undefined>;
  /** 0 until the helper has said the process started. */
  pid: number;
  timer: NodeJS.Timeout;
}

// The sockets come before the spawn (the agent sets them up while the program starts), then its pid, or why
// it failed. Node delivers a message that carries a handle a turn later than a plain one read with it, so the
// `pid` may overtake the last `fd`: a spawn completes when it has both, in either order.
type HelperMessage =
  | { t: 'fd'; id: string; fd: 0 | 1 | 2 }
  | { t: 'pid'; id: string; pid: number }
  | { t: 'fail'; id: string; errno: string }
  | { t: 'exit'; pid: number; code: number; signal: number };

/** Where `npm ci` builds the helper (packages/agent/native/build), from src/ and dist/ alike. */
const HELPER_PATH = fileURLToPath(new URL('../../../native/build/spawn-helper', import.meta.url));

/**
 * The spawn helper built at install time from native/spawn-helper.c (see
 * scripts/build-native.mjs), or undefined when it was not built (no C
 * compiler, not Linux): the agent then spawns tasks itself.
 */
export async function locateSpawnHelper(log: Logger): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  const binary = process.env.COVE_SPAWN_HELPER || HELPER_PATH;
  try {
    await access(binary, fsConstants.X_OK);
    return binary;
  } catch {
    log.warn({ binary }, 'exec: no spawn helper; commands are spawned by the agent itself (slower)');
    return undefined;
  }
}

/**
 * Spawns through the helper process. If the helper dies, running tasks are
 * reported as exited with code -1 and `fallback` takes over new spawns.
 */
export function startHelperSpawner(binary: string, fallback: Spawner, log: Logger): Spawner {
  const pending = new Map<string, Pending>();
  const exits = new Map<number, ExitCallback>();
  const early = new Map<number, [number | null, NodeJS.Signals | null]>();
  let seq = 0;
  let dead = false;

  const helper: ChildProcess = spawn(binary, [], { stdio: ['pipe', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
  // The helper never keeps the agent alive on its own.
  helper.unref();
  (helper.channel as { unref?: () => void } | undefined)?.unref?.();
  (helper.stdin as Socket | null)?.unref();
  helper.stdin?.on('error', () => {});

  const onDeath = () => {
    if (dead) return;
    dead = true;
    log.error('exec: the spawn helper exited; spawning from the agent from now on');
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      closePending(p);
      p.reject(new SpawnError('ECHILD'));
    }
    pending.clear();
    for (const callback of exits.values()) callback(null, null);
    exits.clear();
  };
  helper.on('exit', onDeath);
  helper.on('error', onDeath);

  const onExit = (pid: number) => (callback: ExitCallback) => {
    const done = early.get(pid);
    if (done) {
      early.delete(pid);
      callback(...done);
    } else exits.set(pid, callback);
  };

  /** Resolves a spawn once its three descriptors and its pid are all in. */
  const complete = (id: string, p: Pending) => {
    const [, stdout, stderr] = p.sockets;
    if (p.pid === 0 || !p.stdin || !stdout || !stderr) return;
    pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(handOver(p.pid, p.stdin, stdout, stderr, onExit(p.pid)));
  };

  helper.on('message', (msg: HelperMessage, handle: Socket | NativeHandle | undefined) => {
    if (msg.t === 'fd') {
      const p = pending.get(msg.id);
      if (!p || !handle) {
        // A spawn that already failed or timed out: its descriptors go.
        closeHandle(handle);
        return;
      }
      if (msg.fd === 0) p.stdin = handle as NativeHandle;
      else p.sockets[msg.fd] = handle as Socket;
      complete(msg.id, p);
    } else if (msg.t === 'pid') {
      const p = pending.get(msg.id);
      if (!p) return;
      p.pid = msg.pid;
      complete(msg.id, p);
    } else if (msg.t === 'fail') {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      clearTimeout(p.timer);
      closePending(p);
      // Descriptors of this spawn still on their way are closed as they arrive (no pending entry).
      p.reject(new SpawnError(msg.errno));
    } else if (msg.t === 'exit') {
      const result: [number | null, NodeJS.Signals | null] = [
        msg.signal > 0 ? null : msg.code,
        msg.signal > 0 ? (signalName(msg.signal) as NodeJS.Signals) : null,
      ];
      const callback = exits.get(msg.pid);
      exits.delete(msg.pid);
      if (callback) callback(...result);
      else early.set(msg.pid, result);
    }
  });

  return {
    kind: 'helper',
    spawn(request: SpawnRequest): SpawnedProcess | Promise<SpawnedProcess> {
      if (dead) return fallback.spawn(request);
      const id = (++seq).toString(36);
      // The helper cannot switch users: `launch` sends such requests through exec-as (or the node spawner).
      if (request.runAs) return fallback.spawn(request);
      // One string, encoded once behind its length: `u32 length (LE)` + NUL-terminated fields.
      let text = `${id}\0${request.cwd}\0${request.file}\0${request.args.length + 1}\0${request.argv0 ?? request.file}\0`;
      for (const arg of request.args) text += `${arg}\0`;
      // The agent's environment is sent every time (as child_process does), so changes to it apply.
      const env = request.env ?? process.env;
      let count = 0;
      let entries = '';
      for (const key in env) {
        const value = env[key];
        if (value === undefined) continue;
        entries += `${key}=${value}\0`;
        count++;
      }
      text += `${count}\0${entries}`;
      const length = Buffer.byteLength(text);
      const record = Buffer.allocUnsafe(4 + length);
      record.writeUInt32LE(length, 0);
      record.write(text, 4);
      return new Promise((resolve, reject) => {
        // A handle the agent could not receive (out of file descriptors) is dropped by Node's
        // IPC layer; the timeout keeps such a request from waiting forever.
        const timer = setTimeout(() => {
          const p = pending.get(id);
          if (!p) return;
          pending.delete(id);
          closePending(p);
          if (p.pid > 0) {
            try {
              process.kill(-p.pid, 'SIGKILL');
            } catch {
              // Already gone.
            }
          }
          reject(new SpawnError('ETIMEDOUT'));
        }, SPAWN_TIMEOUT_MS);
        timer.unref();
        pending.set(id, { resolve, reject, stdin: undefined, sockets: [], pid: 0, timer });
        helper.stdin?.write(record);
      });
    },
    close() {
      dead = true;
      helper.kill('SIGKILL');
    },
  };
}

function closeHandle(handle: Socket | NativeHandle | undefined): void {
  if (handle instanceof Socket) handle.destroy();
  else handle?.close();
}

function closePending(p: Pending): void {
  closeHandle(p.stdin);
  for (const s of p.sockets) s?.destroy();
}

/**
 * The started process. stdin becomes a stream only when first used (input, or closing it): most commands
 * never get any, and a stream costs its allocation, a watch in the event loop and the end-of-file it then
 * reads when the program exits. It is made, as Node makes the sockets it receives over IPC, around the
 * handle; not readable (nothing is read from a task's stdin).
 */
function handOver(pid: number, raw: NativeHandle, stdout: Socket, stderr: Socket, onExit: SpawnedProcess['onExit']): SpawnedProcess {
  let stdin: Socket | undefined;
  let dropped = false;
  return {
    pid,
    stdout,
    stderr,
    onExit,
    get stdin(): Socket {
      if (!stdin) {
        if (dropped) {
          // Closed before anyone used it: a stream that is already over.
          stdin = new Socket();
          stdin.destroy();
        } else {
          stdin = new Socket({ handle: raw, readable: false, writable: true } as SocketConstructorOpts);
          // A task that exits without reading its stdin makes our writes fail with EPIPE: not an agent error.
          stdin.on('error', () => {});
        }
      }
      return stdin;
    },
    dropStdin() {
      if (dropped) return;
      dropped = true;
      if (!stdin) raw.close();
      else if (!stdin.destroyed) stdin.destroy();
    },
  };
}
