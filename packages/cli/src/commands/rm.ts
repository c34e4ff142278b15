import { NotFoundError } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { runtimeFor, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../output.js';
import { parseRemote } from '../remote-path.js';

/** `cove rm WS PATH…`: delete files, and directories with -r. */
export function rmCommand(): Command {
  return withConnection(new Command('rm'))
    .description('Delete files or directories in a workspace')
    .argument('<workspace>', 'id or name (WORKSPACE:PATH works too)')
    .argument('[paths...]', 'what to delete')
    .option('-r, --recursive', 'delete directories and everything in them')
    .option('-f, --force', 'no error for paths that do not exist')
    .addHelpText('after', '\nExamples:\n  cove rm dev /tmp/build.log\n  cove rm dev -r /app/node_modules\n  cove rm -rf dev:/tmp/cache')
    .action(async (ref: string, paths: string[], flags: { recursive?: boolean; force?: boolean }, command: Command) => {
      const remote = parseRemote(ref);
      const targets = remote ? [remote.path, ...paths] : paths;
      if (targets.length === 0) throw new CliError('nothing to delete: give a path', EXIT.usage);
      const s = session(command);
      const { rt } = await runtimeFor(s, remote?.workspace ?? ref);
      const deleted: string[] = [];
      for (const target of targets) {
        try {
          // The server deletes directories recursively; as with rm, that takes -r.
          if (!flags.recursive) {
            const info = await rt.files.stat({ path: target });
            if (info.type === 'directory') throw new CliError(`${target}: is a directory (use -r)`);
          }
          deleted.push((await rt.files.delete({ path: target })).path);
        } catch (err) {
          if (flags.force && err instanceof NotFoundError) continue;
          throw err;
        }
      }
      if (s.json) printJson({ deleted });
    });
}
