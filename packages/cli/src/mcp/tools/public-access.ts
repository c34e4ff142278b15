// `workspace_expose_port`: a workspace port at a public URL through the gateway.
import { ExposePortBody } from '@cove/protocol';
import { Type } from '@sinclair/typebox';
import { defineTool, type Tool } from '../tool.js';
import { resolveWorkspace, WorkspaceRef } from '../workspace-ref.js';

const body = ExposePortBody.properties;

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
];
