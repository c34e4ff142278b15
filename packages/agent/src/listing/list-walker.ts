import { type EntryRecord, makeEntry, type WireEntry } from './entry-details.js';
import type { IgnoreChain } from './ignore-rules.js';
import type { ListOptions } from './list-options.js';
import { type Child, DirReader, readSteps } from './sorted-dir.js';

/** Lets a caller stop a walk (the client went away). */
export interface WalkSignal {
  readonly aborted: boolean;
}

export interface ListResult {
  /** Top-level entries: a tree (with `children`) or the flat list. */
  readonly entries: WireEntry[];
  /** Every reported entry in path order (nested ones included). */
  readonly records: EntryRecord[];
  readonly truncated: boolean;
}

interface Slot extends EntryRecord {
  reported: boolean;
}

/**
 * Walks a directory for `GET /files` in path (byte) order, so that the cap
 * keeps the first entries by path and stops the walk there.
 *
 * A directory is reported when it matches by itself, or — when a filter
 * selects files only — lazily, just before the first entry reported below
 * it. Its slot is taken when the walk passes its name, so both the flat list
 * and the tree come out in order.
 */
export async function walkForList(
  options: ListOptions,
  chain: IgnoreChain | undefined,
  tree: boolean,
  cap: number,
  signal: WalkSignal,
): Promise<ListResult> {
  const walk = new ListWalk(options, tree, cap, signal);
  const top = await walk.visit(options.root, '', 0, chain, true);
  const records: EntryRecord[] = [];
  for (const slot of walk.order) if (slot.reported) records.push(slot);
  const entries = tree ? reportedNodes(top ?? []) : records.map((r) => r.node);
  return { entries, records, truncated: walk.truncated };
}

function reportedNodes(slots: readonly Slot[]): WireEntry[] {
  const nodes: WireEntry[] = [];
  for (const slot of slots) if (slot.reported) nodes.push(slot.node);
  return nodes;
}

class ListWalk {
  readonly order: Slot[] = [];
  truncated = false;
  #count = 0;
  #stopped = false;
  /** Directories being walked that are not reported yet (outermost first). */
  readonly #pending: Slot[] = [];
  readonly #reader = new DirReader();

  constructor(
    readonly options: ListOptions,
    readonly tree: boolean,
    readonly cap: number,
    readonly signal: WalkSignal,
  ) {}

  /** Visits a directory; its slots in name order, or undefined if it cannot be read (the root throws). */
  async visit(dir: string, relative: string, depth: number, chain: IgnoreChain | undefined, root = false): Promise<Slot[] | undefined> {
    const { options } = this;
    const filter = options.filter;
    let read: Awaited<ReturnType<typeof readSteps>>;
    try {
      read = await readSteps(dir, relative, chain, filter, options.recurse && depth + 1 < options.maxDepth, this.#reader);
    } catch (err) {
      if (root) throw err;
      return undefined;
    }
    const { children, explored, contentsAt } = read.steps;
    const slots: Slot[] = [];
    // Entries in name order, with each explored directory's contents where
    // they fall by full path (see Steps).
    let next = 0;
    for (let i = 0; i <= children.length; i++) {
      while (next < explored.length && contentsAt[next] === i) {
        const dirChild = explored[next++] as Child;
        if (this.#halted()) return slots;
        await this.#contents(dirChild, slots, depth, read.chain);
      }
      const child = children[i];
      if (child === undefined || this.#halted()) break;
      const isDir = child.kind === 'directory';
      if (!isDir && !filter.matchesFile(child.relative, child.name)) continue;
      const node = makeEntry(child.name, child.path, child.kind, options, this.tree && child.explore);
      const slot: Slot = { node, kind: child.kind, reported: false };
      this.order.push(slot);
      slots.push(slot);
      if (isDir) {
        // Reported as met, unless a filter on files makes it wait for a reported entry below it.
        const self = filter.matchesPath(child.relative) && !(filter.selectsFiles && child.explore);
        if (self) this.#report(slot);
      } else {
        this.#report(slot);
      }
    }
    return slots;
  }

  #halted(): boolean {
    if (this.signal.aborted) this.#stopped = true;
    return this.#stopped;
  }

  /** Walks an explored directory's contents; its slot is the one taken when the walk passed its name. */
  async #contents(child: Child, siblings: readonly Slot[], depth: number, chain: IgnoreChain | undefined): Promise<void> {
    let slot: Slot | undefined;
    for (let k = siblings.length - 1; k >= 0; k--) {
      if ((siblings[k] as Slot).node.path === child.path) {
        slot = siblings[k];
        break;
      }
    }
    if (!slot) return;
    if (!slot.reported) this.#pending.push(slot);
    const kids = await this.visit(child.path, child.relative, depth + 1, chain);
    if (this.#pending.at(-1) === slot) this.#pending.pop();
    if (kids === undefined) {
      // Unreadable: listed without contents, as an unexplored directory is.
      delete slot.node.children;
      if (!slot.reported && this.options.filter.matchesPath(child.relative)) this.#report(slot);
    } else if (this.tree) {
      slot.node.children = reportedNodes(kids);
    }
  }

  /** Reports an entry, with the directories above it that wait for one. */
  #report(slot: Slot): void {
    if (this.#pending.length > 0) {
      for (const dir of this.#pending) if (!dir.reported && !this.#take(dir)) return;
      this.#pending.length = 0;
    }
    this.#take(slot);
  }

  #take(slot: Slot): boolean {
    if (this.#count >= this.cap) {
      this.truncated = true;
      this.#stopped = true;
      return false;
    }
    slot.reported = true;
    this.#count++;
    return true;
  }
}
