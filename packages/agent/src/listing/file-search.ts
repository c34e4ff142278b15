import type { IgnoreChain } from './ignore-rules.js';
import type { EntryFilter } from './list-options.js';
import type { WalkSignal } from './list-walker.js';
import { type Child, DirReader, readSteps } from './sorted-dir.js';

export interface FileSearchOptions {
  readonly root: string;
  readonly query: string;
  readonly caseSensitive: boolean;
  readonly maxResults: number;
  readonly filter: EntryFilter;
}

export interface FileSearchResult {
  readonly files: string[];
  readonly capped: boolean;
}

/**
 * Filename search: a walk in path order collecting the relative paths of
 * non-directories that contain the query, stopping one past `maxResults` to
 * know whether the list was cut. Results are therefore the first matches by
 * path, the same on every run.
 */
export async function searchFiles(
  options: FileSearchOptions,
  chain: IgnoreChain | undefined,
  signal: WalkSignal,
): Promise<FileSearchResult> {
  const needle = options.caseSensitive ? options.query : options.query.toLowerCase();
  const files: string[] = [];
  let capped = false;
  const reader = new DirReader();

  const visit = async (dir: string, relative: string, inherited: IgnoreChain | undefined, root: boolean): Promise<void> => {
    let read: Awaited<ReturnType<typeof readSteps>>;
    try {
      read = await readSteps(dir, relative, inherited, options.filter, true, reader);
    } catch (err) {
      if (root) throw err;
      return;
    }
    const { children, explored, contentsAt } = read.steps;
    let next = 0;
    for (let i = 0; i <= children.length; i++) {
      while (next < explored.length && contentsAt[next] === i) {
        if (capped || signal.aborted) return;
        const dir = explored[next++] as Child;
        await visit(dir.path, dir.relative, read.chain, false);
      }
      const child = children[i];
      if (child === undefined || capped || signal.aborted) return;
      if (child.kind === 'directory') continue;
      const haystack = options.caseSensitive ? child.relative : child.relative.toLowerCase();
      if (!haystack.includes(needle)) continue;
      if (files.length >= options.maxResults) {
        capped = true;
        return;
      }
      files.push(child.relative);
    }
  };

  await visit(options.root, '', chain, true);
  return { files, capped };
}
