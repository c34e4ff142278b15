import { constants as fsConstants, realpathSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { locateSpawnHelper, startHelperSpawner } from '../exec/native/helper-spawner.js';
import { nodeSpawner, type SpawnedProcess, type Spawner } from '../exec/spawner.js';
import { FlatWalk } from './flat-listing.js';
import type { IgnoreChain } from './ignore-rules.js';
import type { ListOptions } from './list-options.js';
import type { WalkSignal } from './list-walker.js';
import { DirReader } from './sorted-dir.js';
import type { LineSink } from './stream-walker.js';

/** Where `npm ci` builds the walker (packages/agent/native/build), from src/ and dist/ alike. */
const WALKER_PATH = fileURLToPath(new URL('../../native/build/list-walker', import.meta.url));
/** The byte between the walker's entries and its trailer (`<count> <truncated 0|1>`); JSON text never holds it. */
const NUL = 0;

/**
 * Whether the native walker can write this listing: a plain flat listing (see `isPlainFlatListing`) with
 * no rules from above the root and no `ignore_patterns` (gitignore rules are JavaScript's business: the
 * walker hands back when it meets a `.gitignore`), and without extensions (their rules live in JS).
 */
export function nativeCanList(options: ListOptions, inherited: IgnoreChain | undefined): boolean {
  return inherited === undefined && !options.filter.hasPatterns && !options.includeExtensions;
}

/**
 * Whether a directory is in /proc, where `self` and `thread-self` would name the walker instead of the agent
 * (the JavaScript walk lists those). The root is resolved: `/dev/fd` is a link to `/proc/self/fd`.
 */
function inProc(root: string): boolean {
  let real: string;
  try {
    real = realpathSync.native(root);
  } catch {
    return false; // The walker reports it cannot read it; the JavaScript walk then answers the error.
  }
  return real === '/proc' || real.startsWith('/proc/');
}

/**
 * Runs `native/build/list-walker` (native/list-walker.c) for the plain flat listings of `GET /files`. The
 * profile of the JavaScript walk put two thirds of its time in readdir's C library and V8 overhead and in
 * building the text (bench/results/files-list.md); the walker does the same walk with getdents64 and
 * writes the same bytes. It is started through the spawn helper (fork() from the agent costs several
 * milliseconds of its main thread), itself started with the first listing.
 */
export class NativeLister {
  #spawner: Promise<Spawner | undefined> | undefined;
  #helper: Spawner | undefined;
  #closed = false;

  /** The walker binary, or undefined for none. */
  readonly walkerPath: string | undefined;

  /** `walker`: a path, false for none, undefined for `COVE_LIST_WALKER` or the built one. */
  constructor(
    readonly log: Logger,
    walker?: string | false,
  ) {
    this.walkerPath = walker === false ? undefined : (walker ?? (process.env.COVE_LIST_WALKER || WALKER_PATH));
  }

  /** The spawner, or undefined when the walker was not built (the JavaScript walk then does it all). */
  #ready(): Promise<Spawner | undefined> {
    this.#spawner ??= (async () => {
      const walker = this.walkerPath;
      if (walker === undefined || process.platform !== 'linux') return undefined;
      try {
        await access(walker, fsConstants.X_OK);
      } catch {
        this.log.info({ walker }, 'listing: no native walker; directories are walked in JavaScript');
        return undefined;
      }
      const helper = await locateSpawnHelper(this.log);
      if (helper === undefined || this.#closed) return nodeSpawner;
      this.#helper = startHelperSpawner(helper, nodeSpawner, this.log);
      return this.#helper;
    })();
    return this.#spawner;
  }

  close(): void {
    this.#closed = true;
    this.#helper?.close();
  }

  /**
   * Writes the listing's body through `begin`'s sink, as `writeFlatListing` would. Resolves false, having
   * written nothing, when the walker is not there or hands the whole walk back (the caller then walks in
   * JavaScript); throws only after the body has started (the caller then cuts it).
   */
  async write(options: ListOptions, cap: number, signal: WalkSignal, begin: () => LineSink): Promise<boolean> {
    const spawner = await this.#ready();
    if (spawner === undefined || inProc(options.root)) return false;
    let child: SpawnedProcess;
    try {
      child = await spawner.spawn({
        file: this.walkerPath as string,
        args: [options.root, String(options.recurse ? options.maxDepth : 1), String(cap), options.useGitignore ? '1' : '0'],
        cwd: '/',
        env: {},
      });
    } catch {
      return false;
    }
    child.stdin.on('error', () => {});
    child.stderr.resume();
    const exited = new Promise<number | null>((resolve) => child.onExit((code) => resolve(code)));
    let sink: LineSink | undefined;
    let walk: FlatWalk | undefined;
    let record: Buffer | undefined; // a record being read (after its NUL)
    let end: { count: number; truncated: boolean } | undefined;
    try {
      reading: for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        if (signal.aborted) break;
        if (sink === undefined) {
          sink = begin();
          if (!(await sink(`{"success":true,"path":${JSON.stringify(options.root)},"entries":[`))) break;
        }
        let data = chunk;
        while (data.length > 0) {
          if (record === undefined) {
            const at = data.indexOf(NUL);
            const text = at === -1 ? data : data.subarray(0, at);
            if (text.length > 0 && !(await sink(text))) break reading;
            if (at === -1) break;
            record = Buffer.alloc(0);
            data = data.subarray(at + 1);
            continue;
          }
          // `D<level> <count> <path>` ends with a NUL; `E<count> <truncated>` ends the output.
          const close = record[0] === 0x45 /* E */ || (record.length === 0 && data[0] === 0x45) ? -1 : data.indexOf(NUL);
          if (close === -1) {
            record = Buffer.concat([record, data]);
            break;
          }
          const whole = Buffer.concat([record, data.subarray(0, close)]).toString('utf8');
          data = data.subarray(close + 1);
          record = undefined;
          const handed = /^D(\d+) (\d+) ([\s\S]*)$/.exec(whole);
          if (!handed) throw new Error(`list-walker wrote an unknown record: ${whole.slice(0, 80)}`);
          walk ??= new FlatWalk(options, cap, signal, new DirReader(), sink);
          walk.count = Number(handed[2]);
          const dir = handed[3] as string;
          const relative = options.root === '/' ? dir.slice(1) : dir.slice(options.root.length + 1);
          await walk.subtree(dir, relative, Number(handed[1]), undefined);
          if (walk.stopped) {
            end = { count: walk.count, truncated: walk.truncated };
            break reading;
          }
          child.stdin.write(`${walk.count}\n`);
        }
      }
    } finally {
      // The walker ends at its next read of the standard input or write of its output: never killed by pid,
      // which a finished walker may already have given back.
      child.stdin.destroy();
      child.stdout.destroy();
    }
    const code = await exited;
    if (signal.aborted) return true;
    if (sink === undefined) return false;
    if (end === undefined) {
      const tail = /^E(\d+) ([01])$/.exec(record?.toString('latin1') ?? '');
      if (code !== 0 || tail === null) throw new Error(`list-walker ended with status ${code} before the end of its output`);
      end = { count: Number(tail[1]), truncated: tail[2] === '1' };
    }
    await sink(`],"count":${end.count}${end.truncated ? ',"truncated":true' : ''}}`);
    return true;
  }
}
