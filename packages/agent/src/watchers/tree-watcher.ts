import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { AppError, type WatcherOp } from '@cove/protocol';
import { Debouncer } from './debouncer.js';
import type { ExcludeMatcher } from './excludes.js';
import { describeInotifyError, IN, type InotifyHandle, isWatchLimit, openInotify, type RawEvent, watchLimitMessage } from './inotify.js';

/** The reference's text for lost events. */
export const OVERFLOW_MESSAGE = 'Event queue overflow, some events may have been lost';

/** What a directory watch listens for. IN_ATTRIB and IN_CLOSE_WRITE are left out on purpose (see docs/decisions.md). */
const WATCH_MASK =
  IN.CREATE | IN.MODIFY | IN.DELETE | IN.MOVED_FROM | IN.MOVED_TO | IN.DELETE_SELF | IN.MOVE_SELF | IN.ONLYDIR | IN.EXCL_UNLINK;

/**
 * Kernel pseudo file systems: thousands of directories whose "files" change
 * without inotify events. A watcher on `/` skips them instead of spending
 * the user's whole watch budget there.
 */
const VIRTUAL_TREES = new Set(['/proc', '/sys', '/dev']);

export type TreeEvent = { type: 'change'; path: string; op: WatcherOp } | { type: 'overflow'; message: string };

export interface TreeWatcherOptions {
  /** Absolute, normalised directory. */
  root: string;
  excludes: ExcludeMatcher;
  debounceMs: number;
  maxPending: number;
  /** Directories one watcher may watch; past it, like the kernel's ENOSPC. */
  maxWatches: number;
  emit(event: TreeEvent): void;
  /** Called once when the root is deleted or moved away and the watcher stops. */
  onInactive(): void;
}

/** Whether an addWatch of a directory took, was a directory already watched, or found it gone. */
type WatchResult = 'added' | 'known' | 'gone' | 'limit' | 'cap';

/**
 * Watches a directory tree with one inotify instance and one watch per
 * directory, turning raw kernel events into the API's `change` ops.
 *
 * Moves are paired by cookie within one read: a pair is `rename` of the old
 * path and `create` of the new; an unpaired IN_MOVED_FROM left the tree
 * (`rename`), an unpaired IN_MOVED_TO entered it (`create`). Directories
 * that appear (created or moved in) are watched, then read, and what is
 * already inside is reported as `create`: events from before the watch
 * existed would otherwise be lost (`mkdir -p a/b/c && touch a/b/c/f`).
 */
export class TreeWatcher {
  readonly root: string;
  readonly #opts: TreeWatcherOptions;
  readonly #ino: InotifyHandle;
  readonly #wdToDir = new Map<number, string>();
  readonly #dirToWd = new Map<string, number>();
  readonly #debouncer: Debouncer<WatcherOp>;
  #rootWd = -1;
  #active = true;
  #closed = false;

  private constructor(options: TreeWatcherOptions) {
    this.root = options.root;
    this.#opts = options;
    this.#debouncer = new Debouncer<WatcherOp>({
      windowMs: options.debounceMs,
      maxPending: options.maxPending,
      flush: (path, op) => options.emit({ type: 'change', path, op }),
      onOverflow: () => options.emit({ type: 'overflow', message: OVERFLOW_MESSAGE }),
    });
    this.#ino = openInotify((events) => this.#onEvents(events));
  }

  /** Watches `root` and every directory below it; resolves once the initial scan is done. */
  static async start(options: TreeWatcherOptions): Promise<TreeWatcher> {
    const watcher = new TreeWatcher(options);
    try {
      await watcher.#initialScan();
    } catch (err) {
      watcher.close();
      throw err;
    }
    return watcher;
  }

  /** Directories watched, the root included. */
  get dirs(): number {
    return this.#wdToDir.size;
  }

  /** False once the root was deleted or moved away. */
  get active(): boolean {
    return this.#active;
  }

  /** Stops watching and drops pending events. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#active = false;
    this.#debouncer.clear();
    this.#ino.close();
    this.#wdToDir.clear();
    this.#dirToWd.clear();
  }

  async #initialScan(): Promise<void> {
    // The root is added with the API's error mapping: a missing root or a
    // file are client errors, a full watch table is the server's.
    try {
      this.#rootWd = this.#ino.addWatch(this.root, WATCH_MASK);
    } catch (err) {
      throw describeInotifyError(err, this.root);
    }
    this.#remember(this.#rootWd, this.root);
    const queue = [this.root];
    while (queue.length > 0 && !this.#closed) {
      const dir = queue.shift() as string;
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        continue; // removed or unreadable meanwhile; events tell the rest
      }
      for (const entry of entries) {
        if (!entry.isDirectory() || this.#closed) continue;
        const full = this.#join(dir, entry.name);
        if (this.#excluded(entry.name, full)) continue;
        const result = this.#watch(full);
        if (result === 'limit' || result === 'cap')
          throw new AppError('watcher_failed', `failed to create file watcher: ${this.#limitMessage(result)}`);
        // 'known': a directory created meanwhile was already walked by #addTree.
        if (result === 'added') queue.push(full);
      }
    }
  }

  /** The kernel's limit (ENOSPC) or the agent's own cap per watcher. */
  #limitMessage(kind: 'limit' | 'cap'): string {
    if (kind === 'limit') return watchLimitMessage();
    return `watch limit reached: at most ${this.#opts.maxWatches} directories per watcher (besides the kernel's fs.inotify.max_user_watches)`;
  }

  #join(dir: string, name: string): string {
    return dir === '/' ? `/${name}` : `${dir}/${name}`;
  }

  #excluded(name: string, full: string): boolean {
    return this.#opts.excludes.excludes(name, () => full.slice(this.root === '/' ? 1 : this.root.length + 1));
  }

  #remember(wd: number, dir: string): void {
    const previous = this.#wdToDir.get(wd);
    if (previous !== undefined && previous !== dir) this.#dirToWd.delete(previous);
    this.#wdToDir.set(wd, dir);
    this.#dirToWd.set(dir, wd);
  }

  #watch(dir: string): WatchResult {
    if (this.#dirToWd.has(dir)) return 'known';
    if (VIRTUAL_TREES.has(dir)) return 'gone';
    if (this.#wdToDir.size >= this.#opts.maxWatches) return 'cap';
    let wd: number;
    try {
      // Never follow a symlink out of the tree.
      wd = this.#ino.addWatch(dir, WATCH_MASK | IN.DONT_FOLLOW);
    } catch (err) {
      if (isWatchLimit(err)) return 'limit';
      return 'gone'; // ENOENT, ENOTDIR (replaced by a file), EACCES: nothing to watch
    }
    this.#remember(wd, dir);
    return 'added';
  }

  /** Forgets `dir` and every watched directory below it; `unwatch` also removes the kernel watches. */
  #forgetTree(dir: string, unwatch: boolean): void {
    const prefix = `${dir}/`;
    for (const [path, wd] of this.#dirToWd) {
      if (path !== dir && !path.startsWith(prefix)) continue;
      if (unwatch) this.#ino.rmWatch(wd);
      this.#dirToWd.delete(path);
      this.#wdToDir.delete(wd);
    }
  }

  /** A watched directory moved inside the tree: its watches stay, their paths change. */
  #moveTree(from: string, to: string): void {
    const prefix = `${from}/`;
    const moved: Array<[string, number]> = [];
    for (const [path, wd] of this.#dirToWd) {
      if (path === from || path.startsWith(prefix)) moved.push([path, wd]);
    }
    for (const [path] of moved) this.#dirToWd.delete(path);
    for (const [path, wd] of moved) this.#remember(wd, to + path.slice(from.length));
  }

  /**
   * Watches a directory that appeared and everything below it, reporting
   * what is already inside as `create` when `report` is set. Synchronous on
   * purpose: no event of this batch can slip between reading and recording.
   */
  #addTree(dir: string, report: boolean): void {
    const stack = [dir];
    let limited: 'limit' | 'cap' | undefined;
    while (stack.length > 0) {
      const current = stack.pop() as string;
      const result = this.#watch(current);
      // 'known': watched before it was read, so its later changes arrive as events.
      if (result === 'gone' || result === 'known') continue;
      if (result === 'limit' || result === 'cap') {
        limited = result;
        continue;
      }
      let entries: Dirent[];
      try {
        entries = readdirSync(current, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const entry of entries) {
        const full = this.#join(current, entry.name);
        if (this.#excluded(entry.name, full)) continue;
        if (report) this.#debouncer.push(full, 'create');
        if (entry.isDirectory()) stack.push(full);
      }
    }
    if (limited) this.#opts.emit({ type: 'overflow', message: `${this.#limitMessage(limited)}; changes below ${dir} are not reported` });
  }

  #onEvents(events: RawEvent[]): void {
    // Moves out whose other half is not in this batch, by cookie.
    const movedFrom = new Map<number, { path: string; isDir: boolean }>();
    for (const event of events) {
      if (this.#closed) return;
      this.#onEvent(event, movedFrom);
    }
    // An IN_MOVED_FROM without its IN_MOVED_TO: the entry left the tree, and
    // the kernel would go on reporting a moved-out directory under its old path.
    for (const { path, isDir } of movedFrom.values()) if (isDir) this.#forgetTree(path, true);
  }

  #onEvent(event: RawEvent, movedFrom: Map<number, { path: string; isDir: boolean }>): void {
    const { mask } = event;
    if (mask & IN.Q_OVERFLOW) {
      this.#opts.emit({ type: 'overflow', message: OVERFLOW_MESSAGE });
      this.#resync();
      return;
    }
    const dir = this.#wdToDir.get(event.wd);
    if (dir === undefined) return; // a watch already forgotten
    if (mask & IN.IGNORED) {
      // The kernel dropped this watch (directory deleted, or we removed it).
      if (event.wd === this.#rootWd) this.#rootGone('remove');
      this.#wdToDir.delete(event.wd);
      if (this.#dirToWd.get(dir) === event.wd) this.#dirToWd.delete(dir);
      return;
    }
    if (mask & (IN.DELETE_SELF | IN.MOVE_SELF | IN.UNMOUNT)) {
      // A subdirectory's own removal or move is reported by its parent.
      if (event.wd === this.#rootWd) this.#rootGone(mask & IN.MOVE_SELF ? 'rename' : 'remove');
      return;
    }
    if (event.name === '') return;
    const path = this.#join(dir, event.name);
    if (this.#excluded(event.name, path)) return;
    const isDir = (mask & IN.ISDIR) !== 0;
    if (mask & IN.CREATE) {
      this.#debouncer.push(path, 'create');
      if (isDir) this.#addTree(path, true);
    } else if (mask & IN.MODIFY) {
      this.#debouncer.push(path, 'write');
    } else if (mask & IN.DELETE) {
      this.#debouncer.push(path, 'remove');
      if (isDir) this.#forgetTree(path, false);
    } else if (mask & IN.MOVED_FROM) {
      movedFrom.set(event.cookie, { path, isDir });
      this.#debouncer.push(path, 'rename');
    } else if (mask & IN.MOVED_TO) {
      const from = movedFrom.get(event.cookie);
      movedFrom.delete(event.cookie);
      this.#debouncer.push(path, 'create');
      if (!isDir) return;
      if (from && this.#dirToWd.has(from.path)) this.#moveTree(from.path, path);
      else this.#addTree(path, true);
    }
  }

  /** The root was deleted or moved away: report it, stop watching, stay listed as inactive. */
  #rootGone(op: WatcherOp): void {
    if (!this.#active) return;
    this.#active = false;
    this.#debouncer.push(this.root, op);
    this.#ino.close();
    this.#wdToDir.clear();
    this.#dirToWd.clear();
    this.#opts.onInactive();
  }

  /**
   * After the kernel dropped events: forget directories that are gone and
   * watch the ones created meanwhile, so later changes are seen again.
   */
  #resync(): void {
    for (const [path, wd] of this.#dirToWd) {
      let isDir = false;
      try {
        isDir = lstatSync(path).isDirectory();
      } catch {}
      if (!isDir && wd !== this.#rootWd) this.#forgetTree(path, true);
    }
    const known = [...this.#dirToWd.keys()];
    for (const dir of known) {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        const full = this.#join(dir, entry.name);
        if (!this.#dirToWd.has(full) && !this.#excluded(entry.name, full)) this.#addTree(full, false);
      }
    }
  }
}
