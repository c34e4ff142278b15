// Control-plane tools: list, create, delete, start, stop, and the network switch the data-plane tools need.
import { NetworkUpdateBody, WorkspaceCreateBody, WorkspaceListQuery } from '@cove/protocol';
import type { WorkspaceInfo } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { defineTool, described, type Tool } from '../tool.js';
import { resolveWorkspace, WorkspaceRef } from '../workspace-ref.js';

/** Creating may pull the image first: longer than the SDK's default minute. */
const CREATE_TIMEOUT_MS = 15 * 60_000;

const create = WorkspaceCreateBody.properties;

/** What the model needs of a workspace, on one line. */
export function workspaceLine(w: WorkspaceInfo): string {
  const config = w.config
    ? ` cpus=${w.config.cpus ?? '?'} memory=${w.config.memory_mb ?? '?'}MiB disk=${w.config.disk_size_mb ?? '?'}MiB`
    : '';
  return `${w.id}  ${w.name ?? ''}  ${w.status}  image=${w.image ?? ''}${config}`;
}

const list = defineTool({
  name: 'workspace_list',
  title: 'List workspaces',
  description: 'List the workspaces of this account: id, name, status (running, stopped, paused), image and limits.',
  input: Type.Object(
    {
      status: Type.Optional(WorkspaceListQuery.properties.status),
      page: Type.Optional(WorkspaceListQuery.properties.page),
      limit: Type.Optional(WorkspaceListQuery.properties.limit),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const page = args.page ?? 1;
    const limit = args.limit ?? 100;
    const res = await client.workspaces.list({ page, limit, ...(args.status ? { status: args.status } : {}) }, { signal });
    const more = page * limit < res.total;
    const text =
      res.workspaces.length === 0
        ? 'no workspaces'
        : `${res.workspaces.map(workspaceLine).join('\n')}${more ? `\n(${res.total} in all: ask for page ${page + 1})` : ''}`;
    return { text, structured: { workspaces: res.workspaces, total: res.total, page, limit } };
  },
});

const createTool = defineTool({
  name: 'workspace_create',
  title: 'Create a workspace',
  description:
    'Create and start a workspace (an isolated Linux machine), ready when this returns. The other workspace_* tools reach it ' +
    'through the gateway, so public_access is turned on unless you pass public_access: false.',
  input: Type.Object(
    {
      name: described(create.name, 'A name to refer to it by (the other tools take a name or an id)'),
      image: described(create.image, "The image to create it from (default: the server's default image)"),
      cpus: Type.Optional(create.cpus),
      memory_mb: Type.Optional(create.memory_mb),
      disk_size_mb: Type.Optional(create.disk_size_mb),
      ttl: described(create.ttl, 'Make it temporary: it lives this long (seconds, or 30s, 10m, 2h, 1d), then ttl_action'),
      ttl_action: described(create.ttl_action, 'What happens when the ttl runs out: stop (default), pause, suspend or remove'),
      public_access: Type.Boolean({
        default: true,
        description: 'Reachable through the gateway (needed by the exec, file and search tools)',
      }),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { client, signal }) {
    const { public_access: publicAccess, cpus, memory_mb: memoryMb, disk_size_mb: diskSizeMb, ttl, ttl_action: ttlAction, ...rest } = args;
    const w = await client.workspaces.create(
      {
        ...rest,
        ...(cpus !== undefined ? { cpus } : {}),
        ...(memoryMb !== undefined ? { memoryMb } : {}),
        ...(diskSizeMb !== undefined ? { diskSizeMb } : {}),
        ...(ttl !== undefined ? { mode: 'temporary', ttl, ...(ttlAction !== undefined ? { ttl_action: ttlAction } : {}) } : {}),
      },
      { signal, timeout: CREATE_TIMEOUT_MS },
    );
    if (publicAccess) await client.workspaces.network.update(w.id, { public_access: true }, { signal });
    return {
      text: `created ${workspaceLine(w)}\npublic_access: ${publicAccess ? 'on' : 'off (the exec, file and search tools need it)'}`,
      structured: { workspace: w, public_access: publicAccess },
    };
  },
});

const Ref = Type.Object({ workspace: WorkspaceRef }, { additionalProperties: false });

/** delete, start and stop: one workspace, one call, the server's answer. */
function lifecycleTool(
  name: string,
  verb: 'delete' | 'start' | 'stop',
  title: string,
  description: string,
  annotations: Tool['annotations'],
): Tool {
  return defineTool({
    name,
    title,
    description,
    input: Ref,
    annotations,
    async run(args, { client, signal }) {
      const id = await resolveWorkspace(client, args.workspace, signal);
      const res = await client.workspaces[verb](id, { signal });
      const past = { delete: 'deleted', start: 'started', stop: 'stopped' }[verb];
      return { text: `${past} ${id}`, structured: { ...res, workspace_id: id } };
    },
  });
}

const network = defineTool({
  name: 'workspace_network',
  title: "Show or change a workspace's network",
  description:
    "Show a workspace's network settings, or change them: public_access (reachable through the gateway, which the exec, " +
    'file and search tools need) and allow_internet (outbound access). Without a setting, only shows them.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      public_access: NetworkUpdateBody.properties.public_access,
      allow_internet: NetworkUpdateBody.properties.allow_internet,
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const id = await resolveWorkspace(client, args.workspace, signal);
    const changes = {
      ...(args.public_access !== undefined ? { public_access: args.public_access } : {}),
      ...(args.allow_internet !== undefined ? { allow_internet: args.allow_internet } : {}),
    };
    const settings =
      Object.keys(changes).length > 0
        ? await client.workspaces.network.update(id, changes, { signal })
        : await client.workspaces.network.get(id, { signal });
    const text = `${id}: public_access ${settings.public_access ? 'on' : 'off'}, allow_internet ${settings.allow_internet ? 'on' : 'off'}${settings.ip ? `, ip ${settings.ip}` : ''}`;
    return { text, structured: { ...settings, workspace_id: id } };
  },
});

export const WORKSPACE_TOOLS: readonly Tool[] = [
  list,
  createTool,
  lifecycleTool(
    'workspace_delete',
    'delete',
    'Delete a workspace',
    'Delete a workspace and everything in it (files, processes). Cannot be undone.',
    { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  ),
  lifecycleTool('workspace_start', 'start', 'Start a workspace', 'Start a stopped workspace (its files are kept).', {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  }),
  lifecycleTool(
    'workspace_stop',
    'stop',
    'Stop a workspace',
    'Stop a workspace: its processes end, its files are kept; workspace_start starts it again.',
    { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  ),
  network,
];
