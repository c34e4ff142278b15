import { extensionOf } from '../paths/code-files.js';
import type { IgnoreChain } from './ignore-rules.js';
import type { ListOptions } from './list-options.js';
import type { WalkSignal } from './list-walker.js';
import { DirReader, readSteps, type Steps } from './sorted-dir.js';
import type { LineSink } from './stream-walker.js';

/** Characters of JSON text gathered before a write (the socket waits for `drain` between writes). */
const CHUNK_CHARS = 64 * 1024;

/**
 * Whether `GET /files` can write its body as the walk goes (`writeFlatListing`)
 * instead of building entry objects: a flat list (`flatten`, or a tree of one
 * level, which has no `children`), no stat (`light`), nothing read from files,
 * and no selection filter (those may report a directory only once something
 * below it is). Exclusions (.gitignore, `ignore_patterns`) are fine: they act
 * while a directory is read.
 */
export function isPlainFlatListing(options: ListOptions, tree: boolean): boolean {
  return (!tree || !options.recurse) && options.light && !options.includeContent && !options.includeHash && !options.filter.selects;
}

/**
 * Writes the body of a plain flat listing (see `isPlainFlatListing`) straight
 * as JSON text, in chunks, while walking: byte for byte what the general path
 * (`walkForList` + `JSON.stringify`) answers, without an object per entry.
 * The root is read before `begin` is called, so its errors can still be 4xx
 * answers; `begin` starts the response and returns where the text goes.
 */
export async function writeFlatListing(
  options: ListOptions,
  inherited: IgnoreChain | undefined,
  cap: number,
  signal: WalkSignal,
  begin: () => LineSink,
): Promise<void> {
  const reader = new DirReader();
  const exploreRoot = options.recurse && 1 < options.maxDepth;
  const top = await readSteps(options.root, '', inherited, options.filter, exploreRoot, reader);
  const sink = begin();
  const walk = new FlatWalk(options, cap, signal, reader, sink);
  walk.text = `{"success":true,"path":${JSON.stringify(options.root)},"entries":[`;
  await walk.entries(top.steps, options.root, 0, top.chain);
  walk.text += `],"count":${walk.count}${walk.truncated ? ',"truncated":true' : ''}}`;
  await walk.flush();
}

/** The walk of `writeFlatListing`; the native walker (native-listing.ts) hands it the directories it leaves. */
export class FlatWalk {
  text = '';
  count = 0;
  truncated = false;
  #stopped = false;

  constructor(
    readonly options: ListOptions,
    readonly cap: number,
    readonly signal: WalkSignal,
    readonly reader: DirReader,
    readonly sink: LineSink,
  ) {}

  /** Writes a directory's entries, each explored directory's contents where they fall by full path. */
  async entries(steps: Steps, dir: string, depth: number, chain: IgnoreChain | undefined): Promise<void> {
    const { children, explored, contentsAt } = steps;
    const prefix = dir === '/' ? '' : jsonInner(dir);
    const extensions = this.options.includeExtensions;
    let next = 0;
    for (let i = 0; i <= children.length; i++) {
      while (next < explored.length && contentsAt[next] === i) {
        const sub = explored[next++];
        if (sub === undefined || this.#halted()) return;
        await this.#contents(sub.path, sub.relative, depth + 1, chain);
      }
      const child = children[i];
      if (child === undefined || this.#halted()) return;
      if (this.count >= this.cap) {
        this.truncated = true;
        this.#stopped = true;
        return;
      }
      const name = jsonInner(child.name);
      const type = child.kind === 'directory' ? 'directory' : child.kind === 'symlink' ? 'symlink' : 'file';
      let entry = `{"name":"${name}","path":"${prefix}/${name}","type":"${type}"`;
      if (extensions && type !== 'directory') entry += `,"extension":"${jsonInner(extensionOf(child.name))}"`;
      this.text += this.count === 0 ? `${entry}}` : `,${entry}}`;
      this.count++;
      if (this.text.length >= CHUNK_CHARS) await this.flush();
    }
  }

  async flush(): Promise<void> {
    const text = this.text;
    this.text = '';
    if (!(await this.sink(text))) this.#stopped = true;
  }

  /** Whether the walk stopped (the cap, the client gone). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Writes a directory's contents (its entry, at `depth`, already written) and flushes. */
  async subtree(dir: string, relative: string, depth: number, chain: IgnoreChain | undefined): Promise<void> {
    await this.#contents(dir, relative, depth, chain);
    if (this.text.length > 0) await this.flush();
  }

  /** An explored directory's contents; one that cannot be read is listed without them. */
  async #contents(dir: string, relative: string, depth: number, chain: IgnoreChain | undefined): Promise<void> {
    const explore = this.options.recurse && depth + 1 < this.options.maxDepth;
    let read: Awaited<ReturnType<typeof readSteps>>;
    try {
      read = await readSteps(dir, relative, chain, this.options.filter, explore, this.reader);
    } catch {
      return;
    }
    await this.entries(read.steps, dir, depth, read.chain);
  }

  #halted(): boolean {
    if (this.signal.aborted) this.#stopped = true;
    return this.#stopped;
  }
}

/** Characters JSON.stringify escapes (and surrogates, which it may): such strings take the slow road. */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** A string as JSON.stringify writes it, without the quotes. */
function jsonInner(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value).slice(1, -1) : value;
}
