import { WORKSPACE_ID_PATTERN } from '@cove/protocol/ids';
import type { Oblien, Runtime } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { toolError } from './tool-error.js';

const ID = new RegExp(WORKSPACE_ID_PATTERN);

/** The `workspace` argument of every workspace tool: an id (`ws_…`) or a name, as the CLI takes them. */
export const WorkspaceRef = Type.String({
  minLength: 1,
  maxLength: 128,
  description: 'The workspace: its id (ws_…) or its name',
});

/** The id `ref` names: an id as it is (the server says when there is no such workspace), a name looked up. */
export async function resolveWorkspace(client: Oblien, ref: string, signal?: AbortSignal): Promise<string> {
  if (ID.test(ref)) return ref;
  const matches: string[] = [];
  for (let page = 1; ; page++) {
    const { workspaces, total } = await client.workspaces.list({ page, limit: 100 }, signal ? { signal } : undefined);
    for (const w of workspaces) if (w.name === ref) matches.push(w.id);
    if (workspaces.length === 0 || page * 100 >= total) break;
  }
  if (matches.length === 0) throw toolError('not_found', `no workspace with id or name '${ref}' (workspace_list shows them)`);
  if (matches.length > 1) throw toolError('conflict', `'${ref}' names ${matches.length} workspaces (${matches.join(', ')}): use an id`);
  return matches[0] as string;
}

/**
 * The workspace's Internal API through the gateway (the SDK enables the API server and mints gateway
 * tokens as needed). The gateway answers only for workspaces whose network has `public_access`; its
 * refusal becomes a tool error that says how to turn it on (see tool-error.ts).
 */
export async function runtimeOf(client: Oblien, ref: string, signal?: AbortSignal): Promise<{ id: string; rt: Runtime }> {
  const id = await resolveWorkspace(client, ref, signal);
  return { id, rt: await sharedRuntime(client, id) };
}

const pending = new WeakMap<Oblien, Map<string, Promise<Runtime>>>();

/**
 * One runtime request per workspace at a time: agents call tools in parallel, and parallel first calls would
 * each enable the workspace's API access at once (each enable restarts the agent's token generation).
 */
function sharedRuntime(client: Oblien, id: string): Promise<Runtime> {
  let byId = pending.get(client);
  if (!byId) {
    byId = new Map();
    pending.set(client, byId);
  }
  const inFlight = byId.get(id);
  if (inFlight) return inFlight;
  const request = client.workspaces.runtime(id).finally(() => byId.delete(id));
  byId.set(id, request);
  return request;
}
