import type { IgnoreChain } from './ignore-rules.js';
import type { EntryFilter } from './list-options.js';
import type { WalkSignal } from './list-walker.js';
import { readSteps } from './sorted-dir.js';

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

  const visit = async (dir: string, relative: string, inherited: IgnoreChain | undefined, root: boolean): Promise<void> => {
    let read: Awaited<ReturnType<typeof readSteps>>;
    try {
      read = await readSteps(dir, relative, inherited, options.filter, true);
    } catch (err) {
      if (root) throw err;
      return;
    }
    for (const step of read.steps) {
      if (capped || signal.aborted) return;
      const child = step.child;
      if (step.contents) {
        await visit(child.path, child.relative, read.chain, false);
        continue;
      }
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
