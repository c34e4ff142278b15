import path from 'node:path';
import type { FileEntry } from '@cove/sdk';
import { Command } from 'commander';
import { runtimeFor, session } from '../client.js';
import { withConnection } from '../config.js';
import { formatBytes, paint, printJson, printTable } from '../output.js';
import { parseRemote } from '../remote-path.js';

interface LsFlags {
  long?: boolean;
  recursive?: boolean;
  all?: boolean;
  gitignore: boolean;
}

function name(entry: FileEntry, relativeTo: string | undefined): string {
  const text = relativeTo === undefined ? entry.name : path.posix.relative(relativeTo, entry.path);
  if (entry.type === 'directory') return paint(`${text}/`, 'blue');
  if (entry.type === 'symlink') return paint(text, 'cyan');
  return text;
}

/** `cove ls WS [PATH]`: a directory in a workspace. */
export function lsCommand(): Command {
  return withConnection(new Command('ls'))
    .description('List a directory in a workspace')
    .argument('<workspace>', 'id or name (WORKSPACE:PATH works too)')
    .argument('[path]', "directory (default: the workspace's working directory)")
    .option('-l, --long', 'type, size and modification time')
    .option('-R, --recursive', 'everything below, as paths')
    .option('-a, --all', 'include hidden entries (names starting with a dot)')
    .option('--no-gitignore', 'also list what .gitignore files exclude')
    .addHelpText('after', '\nExamples:\n  cove ls dev\n  cove ls dev /app -l\n  cove ls dev:/app/src -R --json')
    .action(async (ref: string, dir: string | undefined, flags: LsFlags, command: Command) => {
      const remote = parseRemote(ref);
      const s = session(command);
      const { rt } = await runtimeFor(s, remote?.workspace ?? ref);
      const target = dir ?? remote?.path ?? '.';
      const result = await rt.files.list({
        dirPath: target,
        useGitignore: flags.gitignore,
        ...(flags.recursive ? { nested: true, flatten: true } : {}),
      });
      const entries = result.entries.filter((e) => flags.all || !e.name.startsWith('.'));
      if (s.json) {
        printJson({ ...result, entries, count: entries.length });
        return;
      }
      const rel = flags.recursive ? result.path : undefined;
      if (flags.long) {
        printTable(
          ['TYPE', 'SIZE', 'MODIFIED', 'NAME'],
          entries.map((e) => [
            e.type,
            e.type === 'file' && e.size !== undefined ? formatBytes(e.size) : '-',
            e.modified ?? '',
            name(e, rel),
          ]),
        );
      } else {
        for (const e of entries) process.stdout.write(`${name(e, rel)}\n`);
      }
      if (result.truncated) process.stderr.write(`cove: listing stopped at ${result.count} entries\n`);
    });
}
