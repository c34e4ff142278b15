import type { Dir, Dirent } from 'node:fs';
import { opendir } from 'node:fs/promises';
import { ContentBudget, type EntryRecord, fillDetails, makeEntry } from './entry-details.js';
import { IgnoreChain, readRules } from './ignore-rules.js';
import type { ListOptions } from './list-options.js';
import type { WalkSignal } from './list-walker.js';
import { isVirtualDir, joinPath, kindOf } from './sorted-dir.js';

/** Entries stat'ed, serialised and written together. */
const BATCH = 256;
/** Dirents the directory handle reads per system call. */
const DIR_BUFFER = 256;

interface Frame {
  readonly handle: Dir;
  readonly path: string;
  readonly relative: string;
  readonly depth: number;
  readonly chain: IgnoreChain | undefined;
  /** The directory's own entry while it waits to be reported (file-only filters). */
  pending: EntryRecord | undefined;
}

/** Where the stream's lines go; resolves false once the client is gone. */
export type LineSink = (chunk: string | Uint8Array) => Promise<boolean>;

/** Opens the root before any byte is sent, so its errors can still be 4xx answers. */
export function openRoot(root: string): Promise<Dir> {
  return opendir(root, { bufferSize: DIR_BUFFER });
}

/**
 * Walks depth first in file-system order with batched directory reads: memory
 * holds one open directory per level and one batch of entries, whatever the
 * size of the tree. Returns how many entries were written.
 */
export async function streamWalk(
  rootHandle: Dir,
  options: ListOptions,
  inherited: IgnoreChain | undefined,
  sink: LineSink,
  signal: WalkSignal,
): Promise<number> {
  const filter = options.filter;
  const budget = new ContentBudget(options.contentBudget);
  const stack: Frame[] = [];
  let batch: EntryRecord[] = [];
  let count = 0;
  let waiting = 0; // frames whose directory entry waits to be reported
  let open = true;

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    await fillDetails(records, options, budget);
    let text = '';
    for (const record of records) text += `${JSON.stringify(record.node)}\n`;
    count += records.length;
    if (!(await sink(text))) open = false;
  };
  const report = async (record: EntryRecord): Promise<void> => {
    // Directories that waited for a reported entry below them come first.
    if (waiting > 0) {
      for (const frame of stack) {
        if (frame.pending) {
          batch.push(frame.pending);
          frame.pending = undefined;
        }
      }
      waiting = 0;
    }
    batch.push(record);
    if (batch.length >= BATCH) await flush();
  };
  const push = async (
    handle: Dir,
    path: string,
    relative: string,
    depth: number,
    chain: IgnoreChain | undefined,
    pending?: EntryRecord,
  ) => {
    if (filter.useGitignore) {
      const rules = await readRules(joinPath(path, '.gitignore'));
      if (rules) chain = IgnoreChain.extend(chain, rules, relative);
    }
    stack.push({ handle, path, relative, depth, chain, pending });
    if (pending) waiting++;
  };

  try {
    await push(rootHandle, options.root, '', 0, inherited);
    while (stack.length > 0 && open && !signal.aborted) {
      const frame = stack[stack.length - 1] as Frame;
      let dirent: Dirent | null;
      try {
        dirent = await frame.handle.read();
      } catch {
        dirent = null; // A directory that fails midway ends there.
      }
      if (dirent === null) {
        stack.pop();
        if (frame.pending) waiting--;
        await closeQuietly(frame.handle);
        continue;
      }
      const name = dirent.name;
      const kind = kindOf(dirent);
      const relative = frame.relative === '' ? name : `${frame.relative}/${name}`;
      const isDir = kind === 'directory';
      if (filter.excludes(relative, name, isDir, frame.chain)) continue;
      const path = joinPath(frame.path, name);
      if (!isDir) {
        if (filter.matchesFile(relative, name)) await report({ node: makeEntry(name, path, kind, options, false), kind });
        continue;
      }
      const record: EntryRecord = { node: makeEntry(name, path, kind, options, false), kind };
      const depth = frame.depth + 1;
      let handle: Dir | undefined;
      if (depth < options.maxDepth && !isVirtualDir(path)) {
        try {
          handle = await opendir(path, { bufferSize: DIR_BUFFER });
        } catch {
          handle = undefined; // Unreadable: listed without contents.
        }
      }
      // Without a filter on files a directory is reported as met; otherwise it
      // waits for a reported entry below it (unless it cannot be descended).
      const self = filter.matchesPath(relative) && !(filter.selectsFiles && handle);
      if (self) await report(record);
      if (handle) await push(handle, path, relative, depth, frame.chain, self ? undefined : record);
    }
    if (open && !signal.aborted) await flush();
  } finally {
    for (const frame of stack) await closeQuietly(frame.handle);
  }
  return count;
}

async function closeQuietly(handle: Dir): Promise<void> {
  try {
    await handle.close();
  } catch {
    // Already closed.
  }
}
