// The driver's host commands run by one long-lived `ns-helper serve` (native/ns-helper.c) instead of a spawn of
// each from this process: Node forks its whole process for every child, on its main thread (~2 ms of CPU and
// more of wall time per command for a server of a few hundred MiB, ten per cold create, one after another even
// when the driver's steps run at once); the helper is a small process whose fork costs a tenth of that. Without
// the helper's `serve` (an older build), or once it failed, commands are spawned directly as before.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { CommandResult } from './run-command.js';

export interface ServedCommand {
  argv: readonly string[];
  input?: string | undefined;
  timeoutMs: number;
  /** stdout and stderr appended to this file (made 0600) instead of captured. */
  outputFile?: string | undefined;
}

const NO_INPUT = 0xffff_ffff;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function field(text: string | Buffer): Buffer[] {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return [u32(bytes.length), bytes];
}

/** A request frame (see `ns-helper serve`). */
export function encodeRequest(id: number, command: ServedCommand): Buffer {
  const parts = [
    u32(id),
    u32(command.timeoutMs),
    u32(command.argv.length),
    ...command.argv.flatMap((a) => field(a)),
    ...(command.input === undefined ? [u32(NO_INPUT)] : field(command.input)),
    ...field(command.outputFile ?? ''),
  ];
  const payload = Buffer.concat(parts);
  return Buffer.concat([u32(payload.length), payload]);
}

interface Pending {
  resolve: (result: CommandResult) => void;
  reject: (err: Error) => void;
}

export class CommandServer {
  readonly #binary: string;
  readonly #env: NodeJS.ProcessEnv;
  #child: ChildProcessByStdio<Writable, Readable, null> | undefined;
  /** Resolves true once the helper said it serves; false when it cannot (the caller spawns directly). */
  #ready: Promise<boolean> | undefined;
  #failed = false;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Commands waiting (for the helper's start or their answer). */
  #waiting = 0;
  #received: Buffer = Buffer.alloc(0);

  constructor(binary: string, env: NodeJS.ProcessEnv) {
    this.#binary = binary;
    this.#env = env;
  }

  /** Whether commands can go to the helper (false after it failed once: direct spawns from then on). */
  get usable(): boolean {
    return !this.#failed;
  }

  /** Runs one command through the helper; undefined when the helper cannot serve (the caller spawns it). */
  async run(command: ServedCommand): Promise<CommandResult | undefined> {
    if (this.#failed) return undefined;
    // The helper's pipes keep the event loop alive while a command waits (from its start on), never otherwise.
    this.#waiting++;
    this.#hold();
    try {
      if (!(await this.#start())) return undefined;
      const child = this.#child;
      if (!child) return undefined;
      const id = this.#nextId++;
      if (this.#nextId > 0x7fff_ffff) this.#nextId = 1;
      const result = new Promise<CommandResult>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
      child.stdin.write(encodeRequest(id, command));
      return await result;
    } finally {
      if (--this.#waiting === 0) this.#release();
    }
  }

  #start(): Promise<boolean> {
    this.#ready ??= new Promise<boolean>((resolve) => {
      let child: ChildProcessByStdio<Writable, Readable, null>;
      try {
        child = spawn(this.#binary, ['serve'], { stdio: ['pipe', 'pipe', 'ignore'], env: this.#env });
      } catch {
        this.#fail(new Error('the command helper could not start'));
        resolve(false);
        return;
      }
      this.#child = child;
      let greeted = false;
      child.stdout.on('data', (chunk: Buffer) => {
        this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
        if (!greeted) {
          if (this.#received.length < 4) return;
          // The greeting: an empty frame.
          greeted = true;
          this.#received = this.#received.subarray(4);
          resolve(true);
        }
        this.#answers();
      });
      // A write to a helper that died fails here; its exit below rejects what waits.
      child.stdin.on('error', () => {});
      child.once('error', (err) => {
        this.#fail(err);
        resolve(false);
      });
      child.once('exit', (code, signal) => {
        this.#fail(new Error(`the command helper exited (${signal ?? code})`));
        resolve(false);
      });
      // Held only while commands wait (`run`).
      if (this.#waiting === 0) this.#release();
    });
    return this.#ready;
  }

  #answers(): void {
    let buf = this.#received;
    while (buf.length >= 4) {
      const len = buf.readUInt32LE(0);
      if (buf.length < 4 + len) break;
      const frame = buf.subarray(4, 4 + len);
      buf = buf.subarray(4 + len);
      const id = frame.readUInt32LE(0);
      const code = frame.readInt32LE(4);
      const outLen = frame.readUInt32LE(8);
      const stdout = frame.subarray(12, 12 + outLen).toString('utf8');
      const errLen = frame.readUInt32LE(12 + outLen);
      const stderr = frame.subarray(16 + outLen, 16 + outLen + errLen).toString('utf8');
      const waiting = this.#pending.get(id);
      this.#pending.delete(id);
      waiting?.resolve({ code, stdout, stderr });
    }
    this.#received = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  /** Commands wait: the helper and its pipes keep the event loop alive. */
  #hold(): void {
    const child = this.#child;
    if (!child) return;
    child.ref();
    (child.stdout as Readable & { ref?: () => void }).ref?.();
    (child.stdin as Writable & { ref?: () => void }).ref?.();
  }

  #release(): void {
    const child = this.#child;
    if (!child) return;
    child.unref();
    (child.stdout as Readable & { unref?: () => void }).unref?.();
    (child.stdin as Writable & { unref?: () => void }).unref?.();
  }

  /** The helper is gone or unusable: what waits fails, and commands are spawned directly from now on. */
  #fail(err: Error): void {
    this.#failed = true;
    this.#child = undefined;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** Ends the helper (it exits once its commands have). */
  close(): void {
    this.#child?.stdin.end();
  }
}
