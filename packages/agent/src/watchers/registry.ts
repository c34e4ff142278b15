import { stat } from 'node:fs/promises';
import { AppError, DEFAULT_WATCHER_EXCLUDES, WATCHER_LIMITS } from '@cove/protocol';
import type { AgentContext } from '../context.js';
import { fromSystemError } from '../http/errno.js';
import type { WsClient } from '../ws/hub.js';
import { ExcludeMatcher, mergeExcludes } from './excludes.js';
import { type TreeEvent, TreeWatcher } from './tree-watcher.js';

export interface WatcherRegistryOptions {
  /** Watchers at once (reference: 5). */
  maxWatchers?: number;
  /** Debounce window per path, in ms (reference: 50). */
  debounceMs?: number;
  /** Paths waiting in one watcher's debounce window before changes are dropped with an `overflow`. */
  maxPending?: number;
  /** Directories one watcher may watch (default: only the kernel's fs.inotify.max_user_watches). */
  maxWatchesPerWatcher?: number;
}

/** A watcher as the API shows it. */
export interface WatcherInfo {
  id: string;
  root: string;
  dirs: number;
  dir_count: number;
  excludes: string[];
  active: boolean;
}

interface Entry {
  id: string;
  root: string;
  excludes: string[];
  /** Undefined while the initial scan runs. */
  tree: TreeWatcher | undefined;
}

/**
 * The watchers of one agent: ids, the limit, and the bridge from each
 * tree's events to `/ws` (channel `watcher`).
 */
export class WatcherRegistry {
  readonly #ctx: AgentContext;
  readonly #entries = new Map<string, Entry>();
  readonly #maxWatchers: number;
  readonly #debounceMs: number;
  readonly #maxPending: number;
  readonly #maxWatches: number;
  #nextId = 1;

  constructor(ctx: AgentContext, options: WatcherRegistryOptions = {}) {
    this.#ctx = ctx;
    this.#maxWatchers = options.maxWatchers ?? WATCHER_LIMITS.maxWatchers;
    this.#debounceMs = options.debounceMs ?? WATCHER_LIMITS.debounceMs;
    this.#maxPending = options.maxPending ?? 65_536;
    this.#maxWatches = options.maxWatchesPerWatcher ?? Number.POSITIVE_INFINITY;
    // A client that connects after a watcher was created still learns of it.
    ctx.hub.onConnect((client) => this.#replay(client));
  }

  /** Starts watching `root` (absolute); resolves after the initial scan, once `ready` is sent. */
  async create(root: string, extraExcludes: readonly string[]): Promise<WatcherInfo> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(root);
    } catch (err) {
      // The reference answers 400 for a missing or invalid `path`: a root that is not there is not a missing resource.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new AppError('bad_request', `invalid parameter 'path': directory not found: ${root}`);
      if (code === 'ENOTDIR') throw new AppError('bad_request', `invalid parameter 'path': not a directory: ${root}`);
      throw fromSystemError(err, root);
    }
    if (!info.isDirectory()) throw new AppError('bad_request', `invalid parameter 'path': not a directory: ${root}`);

    this.#makeRoom();
    const id = String(this.#nextId++);
    const excludes = mergeExcludes(DEFAULT_WATCHER_EXCLUDES, extraExcludes);
    // The slot is taken before the scan, so concurrent creates cannot pass the limit.
    const entry: Entry = { id, root, excludes, tree: undefined };
    this.#entries.set(id, entry);
    try {
      entry.tree = await TreeWatcher.start({
        root,
        excludes: new ExcludeMatcher(excludes),
        debounceMs: this.#debounceMs,
        maxPending: this.#maxPending,
        maxWatches: this.#maxWatches,
        emit: (event) => this.#emit(id, event),
        onInactive: () => this.#ctx.log.info({ watcher: id, root }, 'watched root is gone; watcher inactive'),
      });
    } catch (err) {
      this.#entries.delete(id);
      throw fromSystemError(err, root);
    }
    if (!this.#entries.has(id)) {
      // Deleted while scanning.
      entry.tree.close();
      throw new AppError('not_found', `watcher ${id} was deleted while starting`);
    }
    this.#ctx.hub.broadcastText(readyFrame(entry, entry.tree));
    return describe(entry, entry.tree);
  }

  list(): WatcherInfo[] {
    const out: WatcherInfo[] = [];
    for (const entry of this.#entries.values()) if (entry.tree) out.push(describe(entry, entry.tree));
    return out;
  }

  get(id: string): WatcherInfo {
    const entry = this.#entries.get(id);
    if (!entry?.tree) throw notFound(id);
    return describe(entry, entry.tree);
  }

  delete(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) throw notFound(id);
    this.#entries.delete(id);
    entry.tree?.close();
  }

  closeAll(): void {
    for (const entry of this.#entries.values()) entry.tree?.close();
    this.#entries.clear();
  }

  /**
   * At the limit, a watcher whose root is gone gives its place (oldest
   * first): it no longer watches anything, and a client that never deleted
   * it must not be locked out.
   */
  #makeRoom(): void {
    if (this.#entries.size < this.#maxWatchers) return;
    for (const [id, entry] of this.#entries) {
      if (entry.tree && !entry.tree.active) {
        this.#entries.delete(id);
        entry.tree.close();
        return;
      }
    }
    throw new AppError('watcher_limit', `watcher limit reached: at most ${this.#maxWatchers} watchers; delete one first`);
  }

  #emit(id: string, event: TreeEvent): void {
    if (event.type === 'change') {
      this.#ctx.hub.broadcastText({ channel: 'watcher', type: 'change', watcher_id: id, path: event.path, op: event.op });
    } else {
      this.#ctx.hub.broadcastText({ channel: 'watcher', type: 'overflow', watcher_id: id, message: event.message });
    }
  }

  #replay(client: WsClient): void {
    for (const entry of this.#entries.values()) {
      if (entry.tree?.active) client.sendText(readyFrame(entry, entry.tree));
    }
  }
}

function readyFrame(entry: Entry, tree: TreeWatcher): object {
  return { channel: 'watcher', type: 'ready', watcher_id: entry.id, root: entry.root, dirs: tree.dirs };
}

function describe(entry: Entry, tree: TreeWatcher): WatcherInfo {
  const dirs = tree.dirs;
  return { id: entry.id, root: entry.root, dirs, dir_count: dirs, excludes: [...entry.excludes], active: tree.active };
}

function notFound(id: string): AppError {
  return new AppError('not_found', `watcher not found: ${id}`);
}
