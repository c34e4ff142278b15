import { type ChildProcess, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { signalName } from '../signals.js';
import { SpawnError, type SpawnedProcess, type Spawner, type SpawnRequest } from '../spawner.js';

/** A spawn the helper has not answered within this time fails. */
const SPAWN_TIMEOUT_MS = 10_000;

type ExitCallback = (code: number | null, signal: NodeJS.Signals | null) => void;

interface Pending {
  resolve: (p: SpawnedProcess) => void;
  reject: (err: Error) => void;
  sockets: Array<Socket | undefined>;
  pid: number;
}

type HelperMessage =
  | { t: 'fd'; id: string; fd: 0 | 1 | 2; pid: number }
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
    for (const p of pending.values()) p.reject(new SpawnError('ECHILD'));
    pending.clear();
    for (const callback of exits.values()) callback(null, null);
    exits.clear();
  };
  helper.on('exit', onDeath);
  helper.on('error', onDeath);

  helper.on('message', (msg: HelperMessage, handle: Socket | undefined) => {
    if (msg.t === 'fd') {
      const p = pending.get(msg.id);
      if (!p || !handle) {
        handle?.destroy();
        return;
      }
      p.sockets[msg.fd] = handle;
      p.pid = msg.pid;
      const [stdin, stdout, stderr] = p.sockets;
      if (!stdin || !stdout || !stderr) return;
      pending.delete(msg.id);
      const pid = msg.pid;
      p.resolve({
        pid,
        stdin,
        stdout,
        stderr,
        onExit(callback) {
          const done = early.get(pid);
          if (done) {
            early.delete(pid);
            callback(...done);
          } else exits.set(pid, callback);
        },
      });
    } else if (msg.t === 'fail') {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      for (const s of p?.sockets ?? []) s?.destroy();
      p?.reject(new SpawnError(msg.errno));
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
      const fields = [id, request.cwd, request.file, String(request.args.length + 1), request.argv0 ?? request.file, ...request.args];
      // The agent's environment is sent every time (as child_process does), so changes to it apply.
      const entries = Object.entries(request.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined);
      fields.push(String(entries.length), ...entries.map(([k, v]) => `${k}=${v}`));
      const payload = Buffer.from(`${fields.join('\0')}\0`);
      const header = Buffer.allocUnsafe(4);
      header.writeUInt32LE(payload.length);
      return new Promise((resolve, reject) => {
        // A handle the agent could not receive (out of file descriptors) is dropped by Node's
        // IPC layer; the timeout keeps such a request from waiting forever.
        const timer = setTimeout(() => {
          const p = pending.get(id);
          if (!p) return;
          pending.delete(id);
          for (const s of p.sockets) s?.destroy();
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
        const settle =
          <T>(fn: (v: T) => void) =>
          (v: T) => {
            clearTimeout(timer);
            fn(v);
          };
        pending.set(id, { resolve: settle(resolve), reject: settle(reject), sockets: [], pid: 0 });
        helper.stdin?.write(Buffer.concat([header, payload]));
      });
    },
    close() {
      dead = true;
      helper.kill('SIGKILL');
    },
  };
}
