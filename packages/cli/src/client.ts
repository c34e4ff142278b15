import { WORKSPACE_ID_PATTERN } from '@cove/protocol/ids';
import { Oblien, type Runtime } from '@cove/sdk';
import type { Command } from 'commander';
import { CliError } from './cli-error.js';
import { type Connection, type ConnectionFlags, resolveConnection } from './config.js';
import { EXIT } from './exit-codes.js';
import { httpFetch } from './http-fetch.js';

const ID = new RegExp(WORKSPACE_ID_PATTERN);

/** The SDK client and settings for one command run. */
export interface Session {
  client: Oblien;
  connection: Connection;
  flags: ConnectionFlags;
  /** `--json`: print JSON and no spinners. */
  json: boolean;
}

/** Builds the SDK client from the command's flags, environment and credentials file. */
export function session(command: Command): Session {
  const flags = command.optsWithGlobals<ConnectionFlags>();
  const connection = resolveConnection(flags);
  const client = new Oblien({
    baseURL: connection.apiUrl,
    clientId: connection.clientId,
    clientSecret: connection.clientSecret,
    gatewayURL: connection.gatewayUrl,
    // Node's own fetch costs more to load than the rest of a run (see http-fetch.ts).
    fetch: httpFetch,
  });
  return { client, connection, flags, json: flags.json === true };
}

/**
 * A workspace argument is an id (`ws_…`) or a name; names are looked up,
 * and must be unambiguous.
 */
export async function resolveWorkspace(s: Session, ref: string): Promise<string> {
  if (ID.test(ref)) return ref;
  const matches: string[] = [];
  for (let page = 1; ; page++) {
    const { workspaces, total } = await s.client.workspaces.list({ page, limit: 100 });
    for (const w of workspaces) if (w.name === ref) matches.push(w.id);
    if (workspaces.length === 0 || page * 100 >= total) break;
  }
  if (matches.length === 0) throw new CliError(`no workspace with id or name '${ref}'`, EXIT.error);
  if (matches.length > 1) throw new CliError(`'${ref}' names ${matches.length} workspaces (${matches.join(', ')}): use an id`, EXIT.error);
  return matches[0] as string;
}

/** The workspace's runtime through the gateway (access is enabled on first use). */
export async function runtimeFor(s: Session, ref: string): Promise<{ id: string; rt: Runtime }> {
  const id = await resolveWorkspace(s, ref);
  return { id, rt: await s.client.workspaces.runtime(id) };
}
