import { Command, Option } from 'commander';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { formatBytes, printFields, printJson } from '../output.js';

/** `cove snapshot WS`: the file system at this instant, for `cove restore`. */
export function snapshotCommand(): Command {
  return withConnection(new Command('snapshot'))
    .description("Snapshot a workspace's file system (frozen for the instant; memory is not included)")
    .argument('<workspace>', 'id or name')
    .addOption(new Option('--after <state>', 'how to leave it afterwards').choices(['resume', 'paused', 'stop']).default('resume'))
    .addHelpText(
      'after',
      `
A new snapshot replaces the previous one; \`cove restore\` brings it back. Processes and memory
are not part of it: a restore restarts what ran.

Examples:
  cove snapshot dev
  cove snapshot dev --after stop`,
    )
    .action(async (ref: string, flags: { after: 'resume' | 'paused' | 'stop' }, command: Command) => {
      const s = session(command);
      const res = await s.client.workspaces.snapshots.create(await resolveWorkspace(s, ref), { after: flags.after });
      if (s.json) printJson(res);
      else
        printFields([
          ['workspace', res.snapshot.workspace_id],
          ['taken', res.snapshot.created_at],
          ['size', formatBytes(res.snapshot.size_bytes)],
          ['memory', `no (${res.snapshot.memory_reason})`],
        ]);
    });
}

/** `cove restore WS`: back to the latest snapshot. */
export function restoreCommand(): Command {
  return withConnection(new Command('restore'))
    .description("Bring a workspace's file system back to its latest snapshot (a running workspace restarts)")
    .argument('<workspace>', 'id or name')
    .addHelpText('after', '\nExamples:\n  cove snapshot dev && cove exec dev -- rm -rf /root/src && cove restore dev')
    .action(async (ref: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const res = await s.client.workspaces.snapshots.restore(await resolveWorkspace(s, ref));
      if (s.json) printJson(res);
      else process.stdout.write(`restored the snapshot of ${res.snapshot.created_at}\n`);
    });
}
