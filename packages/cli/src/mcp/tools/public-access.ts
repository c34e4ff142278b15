// Public ports: a workspace port at a public URL through the gateway, the ports exposed, and revoking one.
import { ExposePortBody } from '@cove/protocol';
import type { PublicAccessPort } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { defineTool, type Tool } from '../tool.js';
import { resolveWorkspace, WorkspaceRef } from '../workspace-ref.js';

const body = ExposePortBody.properties;

/** One exposed port on one line: the port, its URL, who may use it, its label. */
function line(p: PublicAccessPort): string {
  return `${p.port}  ${p.url ?? '(no URL)'}  ${p.auth === 'token' ? 'token required' : 'public'}${p.label ? `  ${p.label}` : ''}`;
}

export const PUBLIC_ACCESS_TOOLS: readonly Tool[] = [
  defineTool({
    name: 'workspace_expose_port',
    title: 'Expose a workspace port at a public URL',
    description:
      'Serve a port of a workspace (an app listening on it inside) at a public URL through the gateway, HTTP and WebSockets. ' +
      'Exposing an exposed port again returns it (or changes slug, label, auth). With auth "token" the URL also needs the ' +
      'token returned once (?token=… or Authorization: Bearer …).',
    input: Type.Object(
      { workspace: WorkspaceRef, port: body.port, slug: body.slug, label: body.label, auth: body.auth },
      { additionalProperties: false },
    ),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    async run(args, { client, signal }) {
      const id = await resolveWorkspace(client, args.workspace, signal);
      const { workspace: _, ...params } = args;
      const port = await client.workspaces.publicAccess.expose(id, params, { signal });
      const token = port.token !== undefined ? `\ntoken (shown once): ${port.token}` : '';
      return { text: `port ${port.port} of ${id} is at ${port.url ?? '(no URL)'}${token}`, structured: { workspace_id: id, ...port } };
    },
  }),
  defineTool({
    name: 'workspace_list_ports',
    title: "List a workspace's public ports",
    description: 'List the ports of a workspace exposed at public URLs (workspace_expose_port): port, URL, access (public or token).',
    input: Type.Object({ workspace: WorkspaceRef }, { additionalProperties: false }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    async run(args, { client, signal }) {
      const id = await resolveWorkspace(client, args.workspace, signal);
      const ports = await client.workspaces.publicAccess.list(id, { signal });
      const text = ports.length === 0 ? `no port of ${id} is exposed` : ports.map(line).join('\n');
      return { text, structured: { workspace_id: id, ports } };
    },
  }),
  defineTool({
    name: 'workspace_unexpose_port',
    title: 'Revoke a public port',
    description: "Revoke a port's public URL: it stops answering at once and its open connections are cut. The app keeps running.",
    input: Type.Object({ workspace: WorkspaceRef, port: body.port }, { additionalProperties: false }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    async run(args, { client, signal }) {
      const id = await resolveWorkspace(client, args.workspace, signal);
      const res = await client.workspaces.publicAccess.revoke(id, args.port, { signal });
      return { text: `port ${args.port} of ${id} is no longer public`, structured: { ...res, workspace_id: id } };
    },
  }),
];
