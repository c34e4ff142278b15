import path from 'node:path';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { runtimeFor, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../output.js';

interface FindFlags {
  caseSensitive?: boolean;
  hidden?: boolean;
  max?: string;
  ignore?: string;
}

/** `cove find WS QUERY [PATH]`: files whose path contains QUERY. */
export function findCommand(): Command {
  return withConnection(new Command('find'))
    .description('Find files by name in a workspace (substring of the path)')
    .argument('<workspace>', 'id or name')
    .argument('<query>', 'text the relative path must contain')
    .argument('[path]', "where to look (default: the workspace's working directory)")
    .option('-s, --case-sensitive', 'match case')
    .option('--hidden', 'include hidden files and directories')
    .option('-m, --max <n>', 'at most this many results (server default 200)')
    .option('--ignore <globs>', 'comma-separated globs to skip')
    .addHelpText(
      'after',
      '\nPaths print in full, ready for cove cat or cove cp.\n\nExamples:\n  cove find dev controller /app/src\n  cove find dev .go --json',
    )
    .action(async (ref: string, query: string, dir: string | undefined, flags: FindFlags, command: Command) => {
      const max = flags.max === undefined ? undefined : Number(flags.max);
      if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new CliError(`invalid --max '${flags.max}'`, EXIT.usage);
      const s = session(command);
      const { rt } = await runtimeFor(s, ref);
      const result = await rt.search.files({
        query,
        path: dir ?? '.',
        ...(flags.caseSensitive ? { caseSensitive: true } : {}),
        ...(flags.hidden ? { includeHidden: true } : {}),
        ...(max !== undefined ? { maxResults: max } : {}),
        ...(flags.ignore !== undefined ? { ignorePatterns: flags.ignore } : {}),
      });
      if (s.json) {
        printJson(result);
        return;
      }
      for (const file of result.files) process.stdout.write(`${path.posix.join(result.path, file)}\n`);
    });
}
