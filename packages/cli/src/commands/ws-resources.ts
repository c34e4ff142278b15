// `cove ws resize` and `cove ws meta`: a workspace's sizes and metadata after creation.
import type { ResourceChange, WorkspaceResources } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { paint, printFields, printJson, printTable } from '../output.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`invalid ${name} '${value}': expected a positive integer`, EXIT.usage);
    return n;
  };
}

/** `1024 → 2048 MiB (applied)`, or when it takes effect and why not now. */
function changeText(c: ResourceChange | undefined, unit: string): string | undefined {
  if (!c) return undefined;
  const sizes = c.from === c.to ? `${c.to}${unit}` : `${c.from} → ${c.to}${unit}`;
  if (c.applied) return `${sizes} ${paint('(applied)', 'green')}`;
  const when = c.applies_on === 'start' ? 'at the next start' : c.applies_on === 'restart' ? 'at the next restart' : 'recorded only';
  return `${sizes} ${paint(`(${when}${c.reason ? `: ${c.reason}` : ''})`, 'yellow')}`;
}

function showResources(r: WorkspaceResources): void {
  const cap = (u: { used: number; limit: number | null }, unit: string) =>
    u.limit === null ? undefined : `${u.used} of ${u.limit}${unit}`;
  printFields([
    ['workspace', r.workspace_id],
    ['status', r.status],
    ['cpus', changeText(r.changes?.cpus, '') ?? r.cpus],
    ['memory', changeText(r.changes?.memory_mb, ' MiB') ?? `${r.memory_mb} MiB`],
    ['disk', changeText(r.changes?.disk_size_mb, ' MiB') ?? `${r.disk_size_mb} MiB`],
    ['account cpus', cap(r.account.cpus, '')],
    ['account memory', cap(r.account.memory_mb, ' MiB')],
    ['account disk', cap(r.account.disk_mb, ' MiB')],
  ]);
}

function resizeCommand(): Command {
  return withConnection(new Command('resize'))
    .description('Show or change a workspace’s CPUs, memory and disk (live where the driver can; a disk only grows)')
    .argument('<workspace>', 'id or name')
    .option('--cpus <n>', 'CPUs', positiveInt('--cpus'))
    .option('--memory <mib>', 'memory in MiB', positiveInt('--memory'))
    .option('--disk <mib>', 'disk size in MiB (never smaller than it is)', positiveInt('--disk'))
    .option('--no-apply', 'record the sizes for the next start; leave the running workspace as it is')
    .addHelpText(
      'after',
      '\nExamples:\n  cove ws resize dev\n  cove ws resize dev --cpus 2 --memory 1024 --disk 4096\n  cove ws resize dev --memory 4096 --no-apply && cove ws restart dev',
    )
    .action(async (ref: string, flags: { cpus?: number; memory?: number; disk?: number; apply: boolean }, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const resources = s.client.workspaces.resources;
      const change = flags.cpus !== undefined || flags.memory !== undefined || flags.disk !== undefined;
      const r = change
        ? await resources.patch(id, {
            ...(flags.cpus !== undefined ? { cpus: flags.cpus } : {}),
            ...(flags.memory !== undefined ? { memory_mb: flags.memory } : {}),
            ...(flags.disk !== undefined ? { disk_size_mb: flags.disk } : {}),
            ...(flags.apply ? {} : { apply: false }),
          })
        : await resources.get(id);
      if (s.json) printJson(r);
      else showResources(r);
    });
}

/** `KEY=VALUE` (the value may be empty or hold `=`). */
function pairArg(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq < 1) throw new CliError(`invalid '${value}': expected KEY=VALUE`, EXIT.usage);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function metaCommand(): Command {
  return withConnection(new Command('meta'))
    .alias('metadata')
    .description('Show or change a workspace’s metadata (string keys and values)')
    .argument('<workspace>', 'id or name')
    .argument('[pairs...]', 'KEY=VALUE to set (merged into what is there)')
    .option('--unset <key...>', 'keys to remove')
    .option('--replace', 'the pairs given become the whole metadata (none: clear it)')
    .addHelpText(
      'after',
      '\nExamples:\n  cove ws meta dev\n  cove ws meta dev env=prod team=backend\n  cove ws meta dev --unset team\n  cove ws meta dev --replace owner=ci',
    )
    .action(async (ref: string, pairs: string[], flags: { unset?: string[]; replace?: boolean }, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const set = pairs.reduce<Record<string, string>>((acc, p) => pairArg(p, acc), {});
      const metadata = s.client.workspaces.metadata;
      let entries: Record<string, string>;
      if (flags.replace) {
        if (flags.unset) throw new CliError('--replace takes no --unset: name the keys to keep', EXIT.usage);
        entries = (await metadata.update(id, { metadata: set })).metadata;
      } else if (pairs.length > 0 || flags.unset) {
        const patch: Record<string, string | null> = { ...set };
        for (const key of flags.unset ?? []) patch[key] = null;
        entries = (await metadata.patch(id, { metadata: patch })).metadata;
      } else {
        entries = await metadata.get(id);
      }
      if (s.json) printJson(entries);
      else if (Object.keys(entries).length === 0) process.stdout.write(paint('no metadata\n', 'dim'));
      else
        printTable(
          ['KEY', 'VALUE'],
          Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        );
    });
}

/** The resources and metadata subcommands of `cove ws`. */
export function resourceCommands(): Command[] {
  return [resizeCommand(), metaCommand()];
}
