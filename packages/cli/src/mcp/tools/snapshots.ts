// Snapshots, forks and archives: save a workspace's file system, go back to it, copy the workspace, keep versions.
import { ArchiveCreateBody, ForkBody, SnapshotBody } from '@cove/protocol';
import type { ArchiveInfo, SnapshotInfo } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { defineTool, described, type Tool } from '../tool.js';
import { resolveWorkspace, WorkspaceRef } from '../workspace-ref.js';
import { workspaceLine } from './workspaces.js';

/** Freezing, copying and restarting take as long as the disk does: longer than the SDK's default minute. */
const LONG_MS = 15 * 60_000;

const snapshotBody = SnapshotBody.properties;
const forkBody = ForkBody.properties;
const archiveBody = ArchiveCreateBody.properties;

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function snapshotLine(s: SnapshotInfo): string {
  return `snapshot of ${s.workspace_id} taken ${s.created_at} (${mib(s.size_bytes)} of its own disk; file system only, memory not included)`;
}

function archiveLine(a: ArchiveInfo): string {
  const what = a.vm_paths.length > 0 ? a.vm_paths.join(', ') : 'the whole file system';
  const without = a.exclude_vm_paths.length > 0 ? ` without ${a.exclude_vm_paths.join(', ')}` : '';
  return `${a.version}  ${a.format}  ${mib(a.size)}  ${a.created_at}  ${what}${without}  sha256:${a.sha256}`;
}

const snapshot = defineTool({
  name: 'workspace_snapshot',
  title: "Snapshot a workspace's file system",
  description:
    'Save the whole file system of a workspace as it is now (its processes are frozen for the instant), replacing its ' +
    'previous snapshot; workspace_restore goes back to it. Memory is not saved: running processes do not survive a restore.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      after: described(snapshotBody.after, 'How to leave the workspace afterwards: resume (default: as it was), paused, or stop'),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    const res = await client.workspaces.snapshots.create(id, args.after ? { after: args.after } : {}, { signal, timeout: LONG_MS });
    return {
      text: `${snapshotLine(res.snapshot)}; the workspace is left ${res.after === 'resume' ? 'as it was' : res.after}`,
      structured: { workspace_id: id, snapshot: res.snapshot, after: res.after },
    };
  },
});

const restore = defineTool({
  name: 'workspace_restore',
  title: 'Restore a workspace from its snapshot',
  description:
    "Bring a workspace's file system back to its latest snapshot (workspace_snapshot): every change since is lost. A running " +
    'workspace is restarted, so its processes (and workloads) start again from the snapshot.',
  input: Type.Object({ workspace: WorkspaceRef }, { additionalProperties: false }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    const res = await client.workspaces.snapshots.restore(id, { signal, timeout: LONG_MS });
    return { text: `restored ${id} to its ${snapshotLine(res.snapshot)}`, structured: { workspace_id: id, snapshot: res.snapshot } };
  },
});

const fork = defineTool({
  name: 'workspace_fork',
  title: 'Fork a workspace',
  description:
    "Create new workspaces, each a copy of this one's file system at this instant (the parent keeps running), with the " +
    "parent's image, limits and network settings (public_access included) and their own address: to try several " +
    "approaches side by side. They are started when this returns (each one's status says so).",
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      name: described(
        forkBody.name,
        "The copies' name (numbered -1, -2, … when count is more than 1; default: the parent's name and -fork)",
      ),
      count: described(forkBody.count, 'How many copies (default 1)'),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    const children = await client.workspaces.fork(
      id,
      { ...(args.name !== undefined ? { name: args.name } : {}), ...(args.count !== undefined ? { count: args.count } : {}) },
      { signal, timeout: LONG_MS },
    );
    return {
      text: `forked ${id} into ${children.length} workspace${children.length === 1 ? '' : 's'}:\n${children.map(workspaceLine).join('\n')}`,
      structured: { parent_id: id, workspaces: children },
    };
  },
});

const archiveCreate = defineTool({
  name: 'workspace_archive_create',
  title: 'Archive a workspace',
  description:
    'Save a versioned archive (a tar of the file system as seen inside) of a workspace, whole or some paths: it is kept ' +
    'beside the workspace (workspace_archive_list) and a new workspace can be created from it.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      version: described(archiveBody.version, 'Its version: letters, digits, ".", "_", "-" (default: the time)'),
      format: Type.Optional(Type.Union([Type.Literal('tar.zst'), Type.Literal('tar.gz')], { description: 'tar.zst (default) or tar.gz' })),
      vm_paths: described(archiveBody.vm_paths, 'Absolute paths inside the workspace to archive (default: the whole file system)'),
      exclude_vm_paths: described(archiveBody.exclude_vm_paths, 'Absolute paths to leave out'),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { client, signal }) {
    const { workspace, ...params } = args;
    const id = await resolveWorkspace(client, workspace, signal);
    const res = await client.workspaces.snapshots.createArchive(id, params, { signal, timeout: LONG_MS });
    const { success: _, ...archive } = res;
    return { text: `archived ${id}: ${archiveLine(res)}`, structured: { workspace_id: id, archive } };
  },
});

const archiveList = defineTool({
  name: 'workspace_archive_list',
  title: "List a workspace's archives",
  description: 'List the archives of a workspace (workspace_archive_create): version, format, size, time, paths.',
  input: Type.Object({ workspace: WorkspaceRef }, { additionalProperties: false }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    const archives = await client.workspaces.snapshots.listArchives(id, { signal });
    const text = archives.length === 0 ? `${id} has no archives` : archives.map(archiveLine).join('\n');
    return { text, structured: { workspace_id: id, archives } };
  },
});

export const SNAPSHOT_TOOLS: readonly Tool[] = [snapshot, restore, fork, archiveCreate, archiveList];
