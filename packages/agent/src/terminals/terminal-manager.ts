import { AppError, TERMINAL_LIMITS } from '@cove/protocol';
import type { Logger } from 'pino';
import type { RunAs } from '../identity/users.js';
import type { WsHub } from '../ws/hub.js';
import { ptyReaderPath, usableReader } from './pty-reader.js';
import { type TerminalSession as Session, TerminalSession } from './session.js';
import { spawnPty } from './spawn-pty.js';

export interface TerminalManagerOptions {
  /** Live sessions at once. */
  maxLive?: number;
  /** How long an exited session stays listed (ms). */
  exitedTtlMs?: number;
  /** Exited sessions kept at most; the oldest goes first. */
  maxExited?: number;
  /** Between SIGHUP and SIGKILL when a session is closed (ms). */
  killGraceMs?: number;
  /**
   * The native reader of terminal output (native/pty-reader.c): undefined for `COVE_PTY_READER` or the one
   * `npm ci` built; null: none (the agent reads each PTY itself, as it does when the reader is missing).
   */
  ptyReader?: string | null;
}

export interface SpawnRequest {
  command: string[];
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Who the program runs as; undefined: as the agent. */
  runAs: RunAs | undefined;
  cols: number;
  rows: number;
  scrollbackSize: number;
}

/**
 * Owns every terminal session: id allocation, the live limit, expiry of
 * exited sessions, and the bridge to `/ws` (output broadcast, exit notices,
 * replay on connect, and pausing PTYs while clients are backed up).
 */
export class TerminalManager {
  readonly #sessions = new Map<number, Session>();
  readonly #hub: WsHub;
  readonly #log: Logger;
  readonly #maxLive: number;
  readonly #exitedTtlMs: number;
  readonly #maxExited: number;
  readonly #killGraceMs: number;
  readonly #ptyReader: string | null;
  readonly #expiry = new Map<number, NodeJS.Timeout>();
  /** Where the search for the next free id byte starts (ids cycle through 1..255). */
  #cursor = 1;
  #paused = false;
  #closed = false;

  constructor(hub: WsHub, log: Logger, options: TerminalManagerOptions = {}) {
    this.#hub = hub;
    this.#log = log;
    this.#maxLive = options.maxLive ?? TERMINAL_LIMITS.maxLive;
    this.#exitedTtlMs = options.exitedTtlMs ?? 15 * 60_000;
    this.#maxExited = options.maxExited ?? 32;
    this.#killGraceMs = options.killGraceMs ?? 2000;
    this.#ptyReader = options.ptyReader === undefined ? ptyReaderPath() : options.ptyReader && usableReader(options.ptyReader);
    hub.onConnect((client) => {
      // Live sessions: their buffered output; exited ones: their exit notice.
      for (const s of this.listed()) {
        if (s.alive) {
          if (s.scrollback.size > 0) client.sendBinary(Buffer.concat([Buffer.of(s.id), s.scrollback.tail()]));
        } else client.sendText(exitFrame(s));
      }
    });
    hub.onDrain(() => this.#setPaused(false));
  }

  /** Sessions a client can see (closing ones are gone for clients already). */
  listed(): Session[] {
    return [...this.#sessions.values()]
      .filter((s) => !s.closing)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id - b.id);
  }

  get liveCount(): number {
    let n = 0;
    for (const s of this.#sessions.values()) if (s.alive && !s.closing) n++;
    return n;
  }

  /** A listed session by its wire id ("1"); undefined for anything else. */
  get(id: unknown): Session | undefined {
    const n = parseId(id);
    if (n === undefined) return undefined;
    const s = this.#sessions.get(n);
    return s && !s.closing ? s : undefined;
  }

  create(req: SpawnRequest): Session {
    if (this.#closed) throw new AppError('service_unavailable', 'agent is shutting down');
    if (this.liveCount >= this.#maxLive) {
      throw new AppError('too_many_terminals', `at most ${this.#maxLive} terminal sessions can be live at once`);
    }
    const id = this.#allocateId();
    let pty: ReturnType<typeof spawnPty>;
    try {
      pty = spawnPty({ file: req.file, args: req.args, cwd: req.cwd, env: req.env, runAs: req.runAs, cols: req.cols, rows: req.rows });
    } catch (err) {
      this.#log.warn({ err, command: req.command[0] }, 'PTY spawn failed');
      throw new AppError('failed_to_start', `failed to create PTY session: ${(err as Error).message}`);
    }
    const session: Session = new TerminalSession({
      id,
      command: req.command,
      cols: req.cols,
      rows: req.rows,
      scrollbackSize: req.scrollbackSize,
      pty,
      reader: this.#ptyReader,
      events: {
        output: (frame) => this.#output(frame),
        exit: (code) => this.#exited(session, code),
      },
    });
    // Output produced while clients are backed up waits in the kernel, not here.
    if (this.#paused) session.pause();
    this.#sessions.set(id, session);
    this.#cursor = (id % 255) + 1;
    return session;
  }

  /**
   * Closes a session: an exited one is forgotten at once; a live one stops
   * being listed now and its id is freed once the process is gone (so a
   * late exit notice never names a newer session).
   */
  close(session: Session): void {
    if (session.closing) return;
    session.closing = true;
    if (!session.alive) {
      this.#forget(session);
      return;
    }
    void session.terminate(this.#killGraceMs);
  }

  /** Kills everything (agent shutdown). */
  async closeAll(): Promise<void> {
    this.#closed = true;
    const all = [...this.#sessions.values()];
    for (const s of all) s.closing = true;
    await Promise.all(all.map((s) => s.terminate(0)));
    for (const timer of this.#expiry.values()) clearTimeout(timer);
    this.#expiry.clear();
    this.#sessions.clear();
  }

  #output(frame: Buffer): void {
    if (this.#hub.size === 0) return;
    this.#hub.broadcastBinary(frame);
    if (this.#hub.congested) this.#setPaused(true);
  }

  #setPaused(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    for (const s of this.#sessions.values()) {
      if (paused) s.pause();
      else s.resume();
    }
  }

  #exited(session: Session, code: number): void {
    this.#hub.broadcastText(exitFrame(session));
    this.#log.debug({ terminal: session.id, code }, 'terminal exited');
    if (session.closing) {
      this.#forget(session);
      return;
    }
    const timer = setTimeout(() => this.#forget(session), this.#exitedTtlMs);
    timer.unref();
    this.#expiry.set(session.id, timer);
    const exited = [...this.#sessions.values()].filter((s) => !s.alive && !s.closing);
    exited.sort((a, b) => (a.exitedAt ?? 0) - (b.exitedAt ?? 0));
    for (const old of exited.slice(0, Math.max(0, exited.length - this.#maxExited))) this.#forget(old);
  }

  #forget(session: Session): void {
    if (this.#sessions.get(session.id) !== session) return;
    this.#sessions.delete(session.id);
    const timer = this.#expiry.get(session.id);
    if (timer) clearTimeout(timer);
    this.#expiry.delete(session.id);
  }

  /** The next id byte not in use, cycling from the last one given out. */
  #allocateId(): number {
    for (let i = 0; i < 255; i++) {
      const id = ((this.#cursor - 1 + i) % 255) + 1;
      if (!this.#sessions.has(id)) return id;
    }
    // Every byte is held: exited sessions make room, oldest first (live ones are at most maxLive).
    const oldest = [...this.#sessions.values()]
      .filter((s) => !s.alive && !s.closing)
      .sort((a, b) => (a.exitedAt ?? 0) - (b.exitedAt ?? 0))[0];
    if (!oldest) throw new AppError('too_many_terminals', 'no free terminal id');
    this.#forget(oldest);
    return oldest.id;
  }
}

/** `"7"` or `7` → 7; anything that is not a canonical id 1..255 → undefined. */
export function parseId(id: unknown): number | undefined {
  const text = typeof id === 'number' ? String(id) : id;
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,2}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 255 ? n : undefined;
}

export function exitFrame(session: Session): { channel: 'terminal'; type: 'exit'; id: string; code: number } {
  return { channel: 'terminal', type: 'exit', id: session.idString, code: session.exitCode };
}
