import path from 'node:path';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { runtimeFor, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { paint, printJson } from '../output.js';

interface SearchFlags {
  caseSensitive?: boolean;
  regex?: boolean;
  wordRegexp?: boolean;
  context?: string;
  max?: string;
  type?: string;
  hidden?: boolean;
  gitignore: boolean;
  ignore?: string;
}

function int(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`invalid ${name} '${value}': expected ${min} to ${max}`, EXIT.usage);
  return n;
}

/** `cove search WS QUERY [PATH]`: file contents, through ripgrep in the workspace. */
export function searchCommand(): Command {
  return withConnection(new Command('search'))
    .alias('grep')
    .description('Search file contents in a workspace (ripgrep)')
    .argument('<workspace>', 'id or name')
    .argument('<query>', 'text to find (a regex with -E)')
    .argument('[path]', "where to search (default: the workspace's working directory)")
    .option('-s, --case-sensitive', 'match case (default: ignore case)')
    .option('-E, --regex', 'QUERY is a regular expression')
    .option('-w, --word-regexp', 'whole words only')
    .option('-C, --context <n>', 'lines of context around matches (0-10)')
    .option('-m, --max <n>', 'at most this many matches (server default 100)')
    .option('-t, --type <exts>', 'only these extensions, comma-separated (go,ts)')
    .option('--hidden', 'include hidden files')
    .option('--no-gitignore', 'also search what .gitignore excludes')
    .option('--ignore <globs>', 'comma-separated globs to skip')
    .addHelpText(
      'after',
      '\nOutput is PATH:LINE:COLUMN:TEXT, as grep prints it.\n\nExamples:\n  cove search dev handleRequest /app/src\n  cove search dev -E "TODO|FIXME" -t ts,js --json',
    )
    .action(async (ref: string, query: string, dir: string | undefined, flags: SearchFlags, command: Command) => {
      const context = int('--context', flags.context, 0, 10);
      const max = int('--max', flags.max, 1, 100_000);
      const s = session(command);
      const { rt } = await runtimeFor(s, ref);
      const result = await rt.search.content({
        query,
        path: dir ?? '.',
        ...(flags.caseSensitive ? { caseSensitive: true } : {}),
        ...(flags.regex ? { regex: true } : {}),
        ...(flags.wordRegexp ? { wholeWord: true } : {}),
        ...(context !== undefined ? { contextLines: context } : {}),
        ...(max !== undefined ? { maxResults: max } : {}),
        ...(flags.type !== undefined ? { fileTypes: flags.type } : {}),
        ...(flags.hidden ? { includeHidden: true } : {}),
        ...(flags.gitignore ? {} : { noGitignore: true }),
        ...(flags.ignore !== undefined ? { ignorePatterns: flags.ignore } : {}),
      });
      if (s.json) {
        printJson(result.raw);
        return;
      }
      for (const file of result.results) {
        // Keys are relative to the searched directory; print them in full, ready for cove cat.
        const full = path.posix.isAbsolute(file.path) ? file.path : path.posix.join(result.path, file.path);
        const shown = paint(full, 'cyan');
        for (const m of file.matches) {
          let n = m.line - (m.context_before?.length ?? 0);
          for (const line of m.context_before ?? []) process.stdout.write(`${shown}-${n++}-${line}\n`);
          process.stdout.write(`${shown}:${paint(String(m.line), 'green')}:${m.column ?? 1}:${m.text}\n`);
          n = m.line + 1;
          for (const line of m.context_after ?? []) process.stdout.write(`${shown}-${n++}-${line}\n`);
        }
      }
      if (result.capped) process.stderr.write(`cove: stopped at ${result.total_matches} matches (raise --max)\n`);
    });
}
