import type { LogLine } from '@cove/sdk';
import { Command, Option } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { paint, printJson } from '../output.js';

interface LogsFlags {
  follow?: boolean;
  source: 'boot' | 'cmd';
  lines: string;
}

function lineCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new CliError(`invalid --lines '${value}': a whole number from 1 to 10000`, EXIT.usage);
  return n;
}

function print(line: LogLine, json: boolean): void {
  if (json) printJson(line);
  else if (line.source === 'cmd' && line.timestamp) process.stdout.write(`${paint(line.timestamp, 'dim')} ${line.message}\n`);
  else process.stdout.write(`${line.message}\n`);
}

/** `cove logs`: a workspace's boot log or command log, its end or followed. */
export function logsCommand(): Command {
  return withConnection(new Command('logs'))
    .description("Show a workspace's boot log (its start-up and agent output) or command log (commands run through exec)")
    .argument('<workspace>', 'id or name')
    .option('-f, --follow', 'keep printing lines as they come (until Ctrl-C)')
    .addOption(new Option('--source <source>', 'which log').choices(['boot', 'cmd']).default('boot'))
    .option('-n, --lines <n>', 'lines from the end', '200')
    .addHelpText(
      'after',
      `
Examples:
  cove logs dev                    # the end of the boot log
  cove logs dev --source cmd -n 20 # the last 20 commands run through exec, with their exit codes
  cove logs dev -f --source cmd    # each command as it finishes`,
    )
    .action(async (ref: string, flags: LogsFlags, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const tail = lineCount(flags.lines);
      if (!flags.follow) {
        const res = await s.client.workspaces.logs.get(id, { source: flags.source, tail_lines: tail });
        if (s.json) printJson(res);
        else for (const line of res.logs) print(line, false);
        return;
      }
      const stream =
        flags.source === 'cmd'
          ? s.client.workspaces.logs.streamCmd(id, { tail_lines: tail })
          : s.client.workspaces.logs.streamBoot(id, { tail_lines: tail, follow: true });
      for await (const line of stream) print(line, s.json);
    });
}
