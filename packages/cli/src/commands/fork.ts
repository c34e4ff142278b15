import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { printJson, printTable } from '../output.js';

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new CliError(`invalid count '${value}': expected 1 to 100`, EXIT.usage);
  return n;
}

/** `cove ws fork WS`: new workspaces from its file system at this instant (registered under `cove ws`). */
export function forkCommand(): Command {
  return withConnection(new Command('fork'))
    .description("New workspaces from a workspace's file system at this instant, each then on its own (started)")
    .argument('<workspace>', 'id or name')
    .option('--name <name>', 'name of the new workspace (numbered when several; default <name>-fork)')
    .option('-n, --count <n>', 'how many (1 to 100)', count, 1)
    .addHelpText(
      'after',
      `
Each fork has its parent's image, limits and network settings, and its own address and token.
The parent is frozen for an instant and runs on; deleting it later leaves the forks whole.

Examples:
  cove ws fork dev
  cove ws fork dev --name attempt --count 5
  cove ws fork dev --json | jq -r '.[].id'`,
    )
    .action(async (ref: string, flags: { name?: string; count: number }, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const made = await s.client.workspaces.fork(id, { ...(flags.name ? { name: flags.name } : {}), count: flags.count });
      if (s.json) printJson(made);
      else
        printTable(
          ['ID', 'NAME', 'STATUS', 'IP'],
          made.map((w) => [w.id, String(w.name), String(w.status), String(w.ip ?? '-')]),
        );
    });
}
