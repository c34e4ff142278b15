import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { CliError } from './cli-error.js';

/** Where the control plane and gateway are, and who we are to them. */
export interface Connection {
  apiUrl: string;
  gatewayUrl: string | undefined;
  clientId: string;
  clientSecret: string;
}

/** The connection flags every user command takes. */
export interface ConnectionFlags {
  apiUrl?: string;
  gatewayUrl?: string;
  clientId?: string;
  clientSecret?: string;
  json?: boolean;
}

/** The file `cove up` writes: snake_case keys, as the API spells them. */
interface CredentialsFile {
  client_id?: unknown;
  client_secret?: unknown;
  api_url?: unknown;
  gateway_url?: unknown;
}

/** `$COVE_DATA_DIR/credentials.json`, else `~/.cove/credentials.json`. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.COVE_DATA_DIR && env.COVE_DATA_DIR !== '' ? env.COVE_DATA_DIR : path.join(os.homedir(), '.cove');
  return path.join(dir, 'credentials.json');
}

function readCredentialsFile(file: string): CredentialsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // No file is normal (flags or environment may say everything); an unreadable one is worth saying.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 1);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as CredentialsFile;
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`, 1);
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Resolves each setting on its own: flag, then environment, then the
 * credentials file `cove up` wrote. Missing URLs or credentials are a usage
 * error (exit 2) that says where each can come from.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const file = credentialsPath(env);
  let loaded: CredentialsFile | undefined;
  const fromFile = (key: keyof CredentialsFile): string | undefined => {
    loaded ??= readCredentialsFile(file);
    return str(loaded[key]);
  };
  const apiUrl = str(flags.apiUrl) ?? str(env.COVE_API_URL) ?? fromFile('api_url');
  const gatewayUrl = str(flags.gatewayUrl) ?? str(env.COVE_GATEWAY_URL) ?? fromFile('gateway_url');
  const clientId = str(flags.clientId) ?? str(env.COVE_CLIENT_ID) ?? fromFile('client_id');
  const clientSecret = str(flags.clientSecret) ?? str(env.COVE_CLIENT_SECRET) ?? fromFile('client_secret');
  const hint = `(start a server with \`cove up\`, which writes ${file}, or set`;
  if (!apiUrl) throw new CliError(`no control plane URL ${hint} --api-url / COVE_API_URL)`, 2);
  if (!clientId || !clientSecret)
    throw new CliError(`no client credentials ${hint} --client-id and --client-secret / COVE_CLIENT_ID and COVE_CLIENT_SECRET)`, 2);
  return { apiUrl, gatewayUrl, clientId, clientSecret };
}

/** Adds the connection flags and `--json` to a command. */
export function withConnection(command: Command): Command {
  return command
    .option('--json', 'print JSON for scripts instead of text for people')
    .addOption(new Option('--api-url <url>', 'control plane URL (env COVE_API_URL)'))
    .addOption(new Option('--gateway-url <url>', 'gateway URL (env COVE_GATEWAY_URL)'))
    .addOption(new Option('--client-id <id>', 'client id (env COVE_CLIENT_ID)'))
    .addOption(
      new Option('--client-secret <secret>', 'client secret (prefer env COVE_CLIENT_SECRET: command lines are visible to every user)'),
    );
}
