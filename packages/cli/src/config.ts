import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from './cli-error.js';
import { type FlagValue, resolveSetting, SettingsFiles, settingOption } from './resolve-setting.js';
import { SETTINGS } from './settings.js';

/** Where the control plane and gateway are, and who we are to them. */
export interface Connection {
  apiUrl: string;
  gatewayUrl: string;
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

/** The data directory of user commands: `COVE_DATA_DIR`, else `~/.cove` (they take no `--data-dir`). */
function connectionFiles(env: NodeJS.ProcessEnv): SettingsFiles {
  const dataDir = resolveSetting(SETTINGS.dataDir, undefined, env, undefined).value as string;
  return new SettingsFiles(path.resolve(dataDir));
}

/**
 * Resolves each setting on its own, as every command does: flag, then
 * environment, then the credentials file `cove up` wrote, then the default
 * (the URLs `cove up` listens on by default). Missing credentials are a
 * usage error (exit 2) that says where they can come from.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const files = connectionFiles(env);
  const get = (setting: (typeof SETTINGS)['apiUrl' | 'gatewayUrl' | 'clientId' | 'clientSecret'], flag: FlagValue) =>
    resolveSetting(setting, flag, env, files).value as string | undefined;
  const apiUrl = get(SETTINGS.apiUrl, { value: flags.apiUrl, name: '--api-url' }) as string;
  const gatewayUrl = get(SETTINGS.gatewayUrl, { value: flags.gatewayUrl, name: '--gateway-url' }) as string;
  const clientId = get(SETTINGS.clientId, { value: flags.clientId, name: '--client-id' });
  const clientSecret = get(SETTINGS.clientSecret, { value: flags.clientSecret, name: '--client-secret' });
  if (!clientId || !clientSecret) {
    throw new CliError(
      `no client credentials (start a server with \`cove up\`, which writes ${files.path('credentials')}, or set --client-id and --client-secret / COVE_CLIENT_ID and COVE_CLIENT_SECRET)`,
      2,
    );
  }
  return { apiUrl, gatewayUrl, clientId, clientSecret };
}

/** Adds the connection flags and `--json` to a command. */
export function withConnection(command: Command): Command {
  return command
    .option('--json', 'print JSON for scripts instead of text for people')
    .addOption(settingOption(SETTINGS.apiUrl, '--api-url <url>'))
    .addOption(settingOption(SETTINGS.gatewayUrl, '--gateway-url <url>'))
    .addOption(settingOption(SETTINGS.clientId, '--client-id <id>'))
    .addOption(settingOption(SETTINGS.clientSecret, '--client-secret <secret>'));
}
