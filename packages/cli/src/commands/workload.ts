import type { WorkloadInfo } from '@cove/sdk';
import { Command, Option } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { paint, printFields, printJson, printTable } from '../output.js';

const STATUS_STYLE: Record<string, Parameters<typeof paint>[1]> = { running: 'green', restarting: 'yellow', failed: 'red' };

function show(w: WorkloadInfo): void {
  printFields([
    ['id', w.id],
    ['name', w.name],
    ['status', paint(w.status, STATUS_STYLE[w.status] ?? 'dim')],
    ['pid', w.pid],
    ['command', w.cmd.join(' ')],
    [
      'restart policy',
      `${w.restart_policy}${w.max_restarts > 0 ? ` (max ${w.max_restarts})` : ''}, delay ${w.restart_delay}s${w.restart_backoff ? ' with backoff' : ''}`,
    ],
    ['restarts', w.restart_count],
    ['exit code', w.exit_code],
    ['error', w.error],
    ['log', w.log_path],
    ['enabled', w.enabled ? 'yes' : 'no'],
  ]);
}

function number(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`invalid ${flag} '${value}': expected a number`, EXIT.usage);
  return n;
}

interface RunFlags {
  name?: string;
  restart: 'never' | 'on-failure' | 'always';
  maxRestarts?: string;
  restartDelay?: string;
  env: string[];
  workdir?: string;
  user?: string;
  maxLogSize?: string;
  disabled?: boolean;
}

/** `cove workload run|ls|logs|stop|start|rm`: managed background processes in a workspace. */
export function workloadCommand(): Command {
  const run = withConnection(new Command('run'))
    .description('Start a command as a managed workload: supervised in the workspace, restarted by its policy, started again with it')
    .argument('<workspace>', 'id or name')
    .argument('<command...>', 'the program and its arguments (after --)')
    .option('--name <name>', 'a name to refer to it by (unique in the workspace)')
    .addOption(new Option('--restart <policy>', 'when to restart it').choices(['never', 'on-failure', 'always']).default('on-failure'))
    .option('--max-restarts <n>', 'restarts in a row before giving up (0: no limit)')
    .option('--restart-delay <seconds>', 'before a restart, doubled with each one in a row (default 1)')
    .option('-e, --env <KEY=value>', 'an environment variable (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('-w, --workdir <dir>', 'its working directory')
    .option('-u, --user <user>', 'who it runs as: name, uid, name:group or uid:gid')
    .option('--max-log-size <mb>', 'its log rotates past this many MB (default 10)')
    .option('--disabled', 'create it without starting it')
    .addHelpText(
      'after',
      `
Examples:
  cove workload run dev --name web --restart always -- python3 -m http.server 8080
  cove workload run dev --name worker -e QUEUE=jobs -- node worker.js`,
    )
    .action(async (ref: string, cmd: string[], flags: RunFlags, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const w = await s.client.workspaces.workloads.create(id, {
        cmd,
        restart_policy: flags.restart,
        ...(flags.name !== undefined && { name: flags.name }),
        ...(flags.maxRestarts !== undefined && { max_restarts: number(flags.maxRestarts, '--max-restarts') }),
        ...(flags.restartDelay !== undefined && { restart_delay: number(flags.restartDelay, '--restart-delay') }),
        ...(flags.env.length > 0 && { env: flags.env }),
        ...(flags.workdir !== undefined && { working_dir: flags.workdir }),
        ...(flags.user !== undefined && { user: flags.user }),
        ...(flags.maxLogSize !== undefined && { max_log_size_mb: number(flags.maxLogSize, '--max-log-size') }),
        ...(flags.disabled && { enabled: false }),
      });
      if (s.json) printJson(w);
      else show(w);
    });

  const ls = withConnection(new Command('ls'))
    .alias('list')
    .description("List a workspace's workloads")
    .argument('<workspace>', 'id or name')
    .option('--states <states>', 'only these statuses, comma-separated (running, restarting, exited, failed, stopped, created)')
    .action(async (ref: string, flags: { states?: string }, command: Command) => {
      const s = session(command);
      const list = await s.client.workspaces.workloads.list(await resolveWorkspace(s, ref), flags.states ? { states: flags.states } : {});
      if (s.json) {
        printJson(list);
        return;
      }
      printTable(
        ['ID', 'NAME', 'STATUS', 'PID', 'RESTARTS', 'COMMAND'],
        list.map((w) => [
          w.id,
          w.name,
          paint(w.status, STATUS_STYLE[w.status] ?? 'dim'),
          w.pid === null ? '-' : String(w.pid),
          String(w.restart_count),
          w.cmd.join(' ').slice(0, 60),
        ]),
      );
    });

  const logs = withConnection(new Command('logs'))
    .description("Show a workload's log (its stdout and stderr)")
    .argument('<workspace>', 'id or name')
    .argument('<workload>', 'id or name')
    .option('-f, --follow', 'keep printing lines as they come (until Ctrl-C)')
    .option('-n, --lines <n>', 'lines from the end', '200')
    .action(async (ref: string, workload: string, flags: { follow?: boolean; lines: string }, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const tailLines = number(flags.lines, '--lines');
      if (flags.follow) {
        for await (const line of s.client.workspaces.workloads.logsStream(id, workload, { tailLines })) {
          if (s.json) printJson(line);
          else process.stdout.write(`${line.data}\n`);
        }
        return;
      }
      const lines = await s.client.workspaces.workloads.logs(id, workload, { tailLines });
      if (s.json) printJson(lines);
      else for (const line of lines) process.stdout.write(`${line.data}\n`);
    });

  const verb = (name: 'stop' | 'start', description: string) =>
    withConnection(new Command(name))
      .description(description)
      .argument('<workspace>', 'id or name')
      .argument('<workload>', 'id or name')
      .action(async (ref: string, workload: string, _flags: unknown, command: Command) => {
        const s = session(command);
        const id = await resolveWorkspace(s, ref);
        const w = await s.client.workspaces.workloads[name](id, workload);
        if (s.json) printJson(w);
        else show(w);
      });

  const rm = withConnection(new Command('rm'))
    .description('Stop and delete a workload')
    .argument('<workspace>', 'id or name')
    .argument('<workload>', 'id or name')
    .action(async (ref: string, workload: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const res = await s.client.workspaces.workloads.delete(await resolveWorkspace(s, ref), workload);
      if (s.json) printJson(res);
      else process.stdout.write(`deleted ${res.workload_id}\n`);
    });

  return new Command('workload')
    .alias('workloads')
    .description('Run and manage supervised background processes in a workspace')
    .addCommand(run)
    .addCommand(ls)
    .addCommand(logs)
    .addCommand(verb('stop', 'Stop a workload (and keep it stopped when the workspace starts again)'))
    .addCommand(verb('start', 'Start a workload (and start it again with the workspace)'))
    .addCommand(rm)
    .addHelpText(
      'after',
      '\nExamples:\n  cove workload run dev --name web --restart always -- python3 -m http.server 8080\n  cove workload ls dev\n  cove workload logs dev web -f\n  cove workload stop dev web',
    );
}
