import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { extensionOf } from '../paths/code-files.js';
import type { Kind } from './list-options.js';

/** An entry as written on the wire. Keys are created in wire order. */
export interface WireEntry {
  name: string;
  path: string;
  type: 'file' | 'directory' | 'symlink';
  size?: number;
  modified?: string;
  extension?: string;
  content?: string;
  hash?: string;
  children?: WireEntry[];
}

/** An entry with what the walk knows about it beyond the wire fields. */
export interface EntryRecord {
  readonly node: WireEntry;
  readonly kind: Kind;
  /** Bytes on disk, once known (for the content budget). */
  size?: number;
}

export interface DetailOptions {
  readonly light: boolean;
  readonly includeHash: boolean;
  readonly includeContent: boolean;
  readonly includeExtensions: boolean;
}

/** A file is inlined only if it is text: no NUL byte in its first 8 KiB. */
const TEXT_PROBE = 8 * 1024;
/** Files stat'ed, read or hashed at once. */
const CONCURRENCY = 32;

/** Builds an entry's wire object; `size`/`modified` are placeholders filled by `fillDetails`. */
export function makeEntry(name: string, fullPath: string, kind: Kind, options: DetailOptions, withChildren: boolean): WireEntry {
  const type = kind === 'directory' ? 'directory' : kind === 'symlink' ? 'symlink' : 'file';
  const entry: WireEntry = options.light ? { name, path: fullPath, type } : { name, path: fullPath, type, size: 0, modified: '' };
  if (options.includeExtensions && kind !== 'directory') entry.extension = extensionOf(name);
  if (withChildren) entry.children = [];
  return entry;
}

/** The budget of inlined content, spent in the order entries are reported. */
export class ContentBudget {
  remaining: number;
  constructor(bytes: number) {
    this.remaining = bytes;
  }
}

/**
 * Stats, reads and hashes a batch of reported entries, in place. Content is
 * granted in the batch's order so the budget is spent deterministically;
 * a binary file gives its share back before the next batch.
 */
export async function fillDetails(records: readonly EntryRecord[], options: DetailOptions, budget: ContentBudget): Promise<void> {
  const needStat = !options.light;
  const wantContent = options.includeContent && budget.remaining > 0;
  if (needStat || wantContent) {
    await forEachLimited(records, async (record) => {
      if (!needStat && record.kind !== 'file') return;
      await statInto(record, needStat);
    });
  }
  if (!wantContent && !options.includeHash) return;
  for (let start = 0; start < records.length; start += CONCURRENCY) {
    const window = records.slice(start, start + CONCURRENCY);
    const grants = new Map<EntryRecord, number>();
    if (options.includeContent) {
      for (const record of window) {
        const size = record.size;
        if (record.kind !== 'file' || size === undefined || size > budget.remaining) continue;
        budget.remaining -= size;
        grants.set(record, size);
      }
    }
    await Promise.all(
      window.map(async (record) => {
        if (record.kind !== 'file') return;
        const grant = grants.get(record);
        const refund = await readInto(record, grant, options.includeHash);
        budget.remaining += refund;
      }),
    );
  }
}

async function statInto(record: EntryRecord, wire: boolean): Promise<void> {
  try {
    const info = await lstat(record.node.path);
    record.size = info.size;
    if (wire) {
      record.node.size = info.size;
      record.node.modified = new Date(info.mtimeMs).toISOString();
    }
  } catch {
    // Gone since the directory was read: keep the entry with what is known.
    if (wire) record.node.modified = new Date(0).toISOString();
  }
}

/** Inlines and/or hashes one regular file; returns the part of its grant it did not use. */
async function readInto(record: EntryRecord, grant: number | undefined, hash: boolean): Promise<number> {
  const node = record.node;
  if (grant === undefined) {
    if (hash) await hashInto(node);
    return 0;
  }
  let data: Buffer | undefined;
  try {
    data = await readBounded(node.path, grant);
  } catch {
    data = undefined;
  }
  // Grown past its grant since it was stat'ed, or unreadable: no content.
  if (data === undefined || data.length > grant) {
    if (hash) await hashInto(node);
    return grant;
  }
  const isText = !data.subarray(0, TEXT_PROBE).includes(0);
  if (isText) node.content = data.toString('utf8');
  if (hash) node.hash = createHash('sha256').update(data).digest('hex');
  return isText ? grant - data.length : grant;
}

/** Reads at most `limit + 1` bytes, so a caller can tell the file outgrew `limit`. */
async function readBounded(file: string, limit: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(limit + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

async function hashInto(node: WireEntry): Promise<void> {
  const digest = await hashFile(node.path);
  if (digest !== undefined) node.hash = digest;
}

/** SHA-256 of a file, streamed; undefined if it cannot be read. */
function hashFile(file: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const digest = createHash('sha256');
    const input = createReadStream(file);
    input.on('data', (chunk) => digest.update(chunk));
    input.on('end', () => resolve(digest.digest('hex')));
    input.on('error', () => resolve(undefined));
  });
}

/** Runs `fn` over items with at most CONCURRENCY in flight. */
async function forEachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}
