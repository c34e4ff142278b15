import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ArchiveInfo } from '@cove/sdk';
import { Command, Option } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, printFields, printJson, printTable } from '../output.js';

function show(a: ArchiveInfo): void {
  printFields([
    ['version', a.version],
    ['format', a.format],
    ['size', formatBytes(a.size)],
    ['sha256', a.sha256],
    ['created', a.created_at],
    ['paths', a.vm_paths.length === 0 ? '/' : a.vm_paths.join(' ')],
    ['excluded', a.exclude_vm_paths.join(' ') || '-'],
    ['image', a.image],
  ]);
}

const collect = (value: string, previous: string[]) => [...previous, value];

function createCommand(): Command {
  return withConnection(new Command('create'))
    .description('Archive the file system (or some paths) as a versioned, compressed tar')
    .argument('<workspace>', 'id or name')
    .option('--version <version>', 'its version (default: the time)')
    .addOption(new Option('--format <format>', 'compression').choices(['tar.zst', 'tar.gz']).default('tar.zst'))
    .option('--path <path>', 'an absolute path to include (repeatable; default: everything)', collect, [])
    .option('--exclude <path>', 'an absolute path to leave out (repeatable)', collect, [])
    .addHelpText(
      'after',
      '\nExamples:\n  cove archive create dev --version v1\n  cove archive create dev --path /root/app --exclude /root/app/node_modules',
    )
    .action(async (ref: string, flags: { version?: string; format: string; path: string[]; exclude: string[] }, command: Command) => {
      const s = session(command);
      const a = await s.client.workspaces.snapshots.createArchive(await resolveWorkspace(s, ref), {
        ...(flags.version ? { version: flags.version } : {}),
        format: flags.format,
        vm_paths: flags.path,
        exclude_vm_paths: flags.exclude,
      });
      if (s.json) printJson(a);
      else show(a);
    });
}

function lsCommand(): Command {
  return withConnection(new Command('ls'))
    .alias('list')
    .description("List a workspace's archives")
    .argument('<workspace>', 'id or name')
    .action(async (ref: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const all = await s.client.workspaces.snapshots.listArchives(await resolveWorkspace(s, ref));
      if (s.json) printJson(all);
      else
        printTable(
          ['VERSION', 'FORMAT', 'SIZE', 'CREATED'],
          all.map((a) => [a.version, a.format, formatBytes(a.size), a.created_at]),
        );
    });
}

function getCommand(): Command {
  return withConnection(new Command('get'))
    .description('Show an archive, or download it with -o')
    .argument('<workspace>', 'id or name')
    .argument('<version>')
    .option('-o, --output <file>', 'write the archive to this file (- for stdout)')
    .addHelpText('after', '\nExamples:\n  cove archive get dev v1\n  cove archive get dev v1 -o dev-v1.tar.zst')
    .action(async (ref: string, version: string, flags: { output?: string }, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      if (flags.output === undefined) {
        const a = await s.client.workspaces.snapshots.getArchive(id, version);
        if (s.json) printJson(a);
        else show(a);
        return;
      }
      const res = await s.client.workspaces.snapshots.downloadArchive(id, version);
      if (!res.body) throw new CliError('the server sent no archive', EXIT.error);
      const source = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
      await pipeline(source, flags.output === '-' ? process.stdout : createWriteStream(flags.output));
    });
}

function rmCommand(): Command {
  return withConnection(new Command('rm'))
    .alias('delete')
    .description('Delete archives (their files too with --files)')
    .argument('<workspace>', 'id or name')
    .argument('[versions...]', 'versions (none with --all)')
    .option('--all', 'every archive of the workspace')
    .option('--files', 'delete the files too (else kept until the workspace is deleted)')
    .action(async (ref: string, versions: string[], flags: { all?: boolean; files?: boolean }, command: Command) => {
      if (!flags.all && versions.length === 0) throw new CliError('name the versions to delete, or --all', EXIT.usage);
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const snapshots = s.client.workspaces.snapshots;
      const results = flags.all
        ? [await snapshots.deleteAllArchives(id, { delete_files: flags.files === true })]
        : await Promise.all(versions.map((v) => snapshots.deleteArchive(id, v, { delete_file: flags.files === true })));
      if (s.json) printJson(results);
    });
}

/** `cove archive create|ls|get|rm`: versioned archives of a workspace's file system. */
export function archiveCommand(): Command {
  return new Command('archive')
    .alias('archives')
    .description("Versioned archives of a workspace's file system: create, list, show or download, delete")
    .addHelpText(
      'after',
      `
A new workspace can start from an archive: cove ws create --from-archive FILE (an archive of any Cove), or
POST /workspace {"from_archive": {"workspace_id", "version"}} (one of this Cove's) or {"from_archive": {"upload_id"}}.`,
    )
    .addCommand(createCommand())
    .addCommand(lsCommand())
    .addCommand(getCommand())
    .addCommand(rmCommand());
}
