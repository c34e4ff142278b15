import { statSync } from 'node:fs';
import type { WorkspaceInfo } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { paint, printFields, printJson, printTable, withSpinner } from '../output.js';
import { forkCommand } from './fork.js';
import { durationArg, lifecycleCommands, restartPolicyArg, ttlActionArg } from './ws-lifecycle.js';
import { resourceCommands } from './ws-resources.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`invalid ${name} '${value}': expected a positive integer`, EXIT.usage);
    return n;
  };
}

function statusText(status: string): string {
  return status === 'running' ? paint(status, 'green') : status === 'stopped' ? paint(status, 'dim') : paint(status, 'yellow');
}

function showWorkspace(w: WorkspaceInfo): void {
  printFields([
    ['id', w.id],
    ['name', w.name],
    ['status', statusText(w.status)],
    ['image', w.image],
    ['cpus', w.config?.cpus],
    ['memory', w.config?.memory_mb !== undefined ? `${w.config.memory_mb} MiB` : undefined],
    ['disk', w.config?.disk_size_mb !== undefined ? `${w.config.disk_size_mb} MiB` : undefined],
    ['ip', w.ip],
    ['created', w.created_at],
  ]);
}

interface CreateFlags {
  name?: string;
  image?: string;
  cpus?: number;
  memory?: number;
  disk?: number;
  publicAccess?: boolean;
  ttl?: string;
  ttlAction?: 'stop' | 'pause' | 'suspend' | 'remove';
  removeOnExit?: boolean;
  idleSuspend?: string;
  idleStop?: string;
  restart?: 'never' | 'on-failure' | 'always';
  fromArchive?: string;
}

function createCommand(): Command {
  return withConnection(new Command('create'))
    .description('Create and start a workspace')
    .option('--name <name>', 'a name to refer to it by')
    .option('--image <image>', 'base image')
    .option('--cpus <n>', 'CPUs', positiveInt('--cpus'))
    .option('--memory <mib>', 'memory in MiB', positiveInt('--memory'))
    .option('--disk <mib>', 'disk size in MiB', positiveInt('--disk'))
    .option('--public-access', 'reachable through the gateway right away (network public_access)')
    .option('--ttl <duration>', 'temporary: lives this long (30s, 10m, 2h, 1d), then --ttl-action', durationArg('--ttl'))
    .option('--ttl-action <action>', 'when the TTL runs out: stop (default), pause, suspend or remove', ttlActionArg)
    .option('--remove-on-exit', 'temporary: removed whenever it stops')
    .option('--idle-suspend <duration>', 'suspend after this long without activity (a request wakes it)', durationArg('--idle-suspend'))
    .option('--idle-stop <duration>', 'stop this long after an idle suspend', durationArg('--idle-stop'))
    .option('--restart <policy>', 'when its agent dies: never, on-failure or always', restartPolicyArg)
    .option('--from-archive <file>', "start from an archive's files (tar, tar.gz or tar.zst; e.g. one downloaded from another Cove)")
    .addHelpText(
      'after',
      `
Examples:
  cove ws create --name dev --public-access
  cove ws create --ttl 1h --idle-suspend 10m
  cove ws create --name copy --from-archive ./ws-v1.tar.zst
  ID=$(cove ws create --json | jq -r .id)`,
    )
    .action(async (flags: CreateFlags, command: Command) => {
      const s = session(command);
      if (flags.fromArchive !== undefined && !statSync(flags.fromArchive, { throwIfNoEntry: false })?.isFile()) {
        throw new CliError(`--from-archive: ${flags.fromArchive} is not a file`, EXIT.usage);
      }
      const upload =
        flags.fromArchive === undefined
          ? undefined
          : await withSpinner('uploading the archive', s.json, () =>
              s.client.workspaces.snapshots.uploadArchive(flags.fromArchive as string),
            );
      const created = await withSpinner('creating workspace', s.json, async () => {
        const w = await s.client.workspaces.create({
          ...(upload !== undefined ? { from_archive: { upload_id: upload.upload_id } } : {}),
          ...(flags.name !== undefined ? { name: flags.name } : {}),
          ...(flags.image !== undefined ? { image: flags.image } : {}),
          ...(flags.cpus !== undefined ? { cpus: flags.cpus } : {}),
          ...(flags.memory !== undefined ? { memoryMb: flags.memory } : {}),
          ...(flags.disk !== undefined ? { diskSizeMb: flags.disk } : {}),
          ...lifecycleFields(flags),
        });
        if (flags.publicAccess) await s.client.workspaces.network.update(w.id, { public_access: true });
        return w;
      }).finally(async () => {
        // The upload served this one create: not left to expire.
        if (upload !== undefined) await s.client.workspaces.snapshots.deleteUpload(upload.upload_id).catch(() => {});
      });
      if (s.json) printJson(created);
      else showWorkspace(created);
    });
}

/** What `create` sends about the lifecycle (a TTL or --remove-on-exit makes the workspace temporary). */
function lifecycleFields(flags: CreateFlags): Record<string, unknown> {
  if (flags.idleStop !== undefined && flags.idleSuspend === undefined) throw new CliError('--idle-stop needs --idle-suspend', EXIT.usage);
  const temporary = flags.ttl !== undefined || flags.ttlAction !== undefined || flags.removeOnExit === true;
  return {
    ...(temporary ? { mode: 'temporary' } : {}),
    ...(flags.ttl !== undefined ? { ttl: flags.ttl } : {}),
    ...(flags.ttlAction !== undefined ? { ttl_action: flags.ttlAction } : {}),
    ...(flags.removeOnExit ? { remove_on_exit: true } : {}),
    ...(flags.idleSuspend !== undefined
      ? { idle: { suspend_after: flags.idleSuspend, ...(flags.idleStop !== undefined ? { stop_after: flags.idleStop } : {}) } }
      : {}),
    ...(flags.restart !== undefined ? { restart_policy: flags.restart } : {}),
  };
}

function listCommand(): Command {
  return withConnection(new Command('list'))
    .alias('ls')
    .description('List workspaces')
    .option('--status <status>', 'only running, stopped or paused ones')
    .addHelpText('after', '\nExamples:\n  cove ws list\n  cove ws list --status running --json')
    .action(async (flags: { status?: string }, command: Command) => {
      const s = session(command);
      const all: WorkspaceInfo[] = [];
      for (let page = 1; ; page++) {
        const { workspaces, total } = await s.client.workspaces.list({
          page,
          limit: 100,
          ...(flags.status !== undefined ? { status: flags.status } : {}),
        });
        all.push(...workspaces);
        if (workspaces.length === 0 || all.length >= total) break;
      }
      if (s.json) {
        printJson(all);
        return;
      }
      if (all.length === 0) {
        process.stderr.write('no workspaces (create one with `cove ws create --name dev`)\n');
        return;
      }
      printTable(
        ['ID', 'NAME', 'STATUS', 'IMAGE', 'CREATED'],
        all.map((w) => [w.id, w.name ?? '', statusText(w.status), w.image ?? '', w.created_at ?? '']),
      );
    });
}

function getCommand(): Command {
  return withConnection(new Command('get'))
    .description('Show a workspace')
    .argument('<workspace>', 'id or name')
    .addHelpText('after', '\nExamples:\n  cove ws get dev\n  cove ws get ws_abc123def456 --json')
    .action(async (ref: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const w = await s.client.workspaces.get(await resolveWorkspace(s, ref));
      if (s.json) printJson(w);
      else showWorkspace(w);
    });
}

type PowerVerb = 'start' | 'stop' | 'restart' | 'pause' | 'resume';
const GERUND: Record<PowerVerb, string> = {
  start: 'starting',
  stop: 'stopping',
  restart: 'restarting',
  pause: 'pausing',
  resume: 'resuming',
};

function powerCommand(verb: PowerVerb, description: string): Command {
  return withConnection(new Command(verb))
    .description(description)
    .argument('<workspace...>', 'ids or names')
    .addHelpText('after', `\nExamples:\n  cove ws ${verb} dev\n  cove ws ${verb} dev ci --json`)
    .action(async (refs: string[], _flags: unknown, command: Command) => {
      const s = session(command);
      const results: unknown[] = [];
      for (const ref of refs) {
        const id = await resolveWorkspace(s, ref);
        const answer = await withSpinner(`${GERUND[verb]} ${ref}`, s.json, () => s.client.workspaces[verb](id));
        results.push(answer);
        const status = (answer as { workspace?: { status?: string }; status?: string }).workspace?.status ?? answer.status;
        if (!s.json) process.stdout.write(`${id} ${statusText(String(status ?? 'ok'))}\n`);
      }
      if (s.json) printJson(results.length === 1 ? results[0] : results);
    });
}

function rmCommand(): Command {
  return withConnection(new Command('rm'))
    .alias('delete')
    .description('Stop and delete workspaces (their files are gone)')
    .argument('<workspace...>', 'ids or names')
    .addHelpText('after', '\nExamples:\n  cove ws rm dev\n  cove ws rm $(cove ws list --json | jq -r ".[].id")')
    .action(async (refs: string[], _flags: unknown, command: Command) => {
      const s = session(command);
      const results: unknown[] = [];
      for (const ref of refs) {
        const id = await resolveWorkspace(s, ref);
        results.push(await withSpinner(`deleting ${ref}`, s.json, () => s.client.workspaces.delete(id)));
        if (!s.json) process.stdout.write(`deleted ${id}\n`);
      }
      if (s.json) printJson(results.length === 1 ? results[0] : results);
    });
}

/** `cove ws …`: workspaces on the control plane. */
export function wsCommand(): Command {
  const ws = new Command('ws')
    .alias('workspace')
    .description('Create, list, start, stop, pause and delete workspaces')
    .addCommand(createCommand())
    .addCommand(listCommand())
    .addCommand(getCommand())
    .addCommand(powerCommand('start', 'Start workspaces'))
    .addCommand(powerCommand('stop', 'Stop workspaces (files persist)'))
    .addCommand(powerCommand('restart', 'Restart workspaces'))
    .addCommand(powerCommand('pause', 'Pause workspaces: every process stops where it is, memory kept'))
    .addCommand(powerCommand('resume', 'Resume paused workspaces'))
    .addCommand(forkCommand())
    .addCommand(rmCommand())
    .addHelpText('after', '\nExamples:\n  cove ws create --name dev --public-access\n  cove ws list\n  cove ws stop dev');
  for (const command of lifecycleCommands()) ws.addCommand(command);
  for (const command of resourceCommands()) ws.addCommand(command);
  return ws;
}
