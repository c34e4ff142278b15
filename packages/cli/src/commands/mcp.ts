import { Oblien } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { type ConnectionFlags, resolveConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { httpFetch } from '../http-fetch.js';
import { parseListen } from '../listen-address.js';
import { Settings, settingOption } from '../resolve-setting.js';
import { SETTINGS } from '../settings.js';
import { untilStopped } from '../stop-signals.js';

/** `cove mcp`: the MCP server (tools in ../mcp/), over stdio or, with --listen, streamable HTTP. */
export function mcpCommand(): Command {
  return new Command('mcp')
    .description('Serve workspaces to AI agents over MCP (stdio, or streamable HTTP with --listen): create, exec, read, edit, search')
    .addOption(settingOption(SETTINGS.mcpListen, '--listen <host:port>'))
    .addOption(settingOption(SETTINGS.mcpToken, '--token <token>'))
    .addOption(settingOption(SETTINGS.apiUrl, '--api-url <url>'))
    .addOption(settingOption(SETTINGS.gatewayUrl, '--gateway-url <url>'))
    .addOption(settingOption(SETTINGS.clientId, '--client-id <id>'))
    .addOption(settingOption(SETTINGS.clientSecret, '--client-secret <secret>'))
    .addHelpText(
      'after',
      `
Without --listen, MCP goes over stdin/stdout: an MCP client starts \`cove mcp\` itself. With --listen, clients
connect to http://HOST:PORT/mcp and send Authorization: Bearer <token>; without --token/COVE_MCP_TOKEN a token
is generated and printed. The control plane and credentials are found as for every command (cove up writes them).

Tools: workspace_list, workspace_create, workspace_delete, workspace_start, workspace_stop, workspace_network,
workspace_exec, workspace_read_file, workspace_write_file, workspace_edit_file, workspace_list_files,
workspace_search, workspace_find_files, workspace_expose_port.

Examples:
  cove mcp                                   # in an MCP client's config: {"command": "cove", "args": ["mcp"]}
  cove mcp --listen 127.0.0.1:9770           # prints the URL and a generated token
  COVE_MCP_TOKEN=… cove mcp --listen 0.0.0.0:9770`,
    )
    .action(async (flags: ConnectionFlags, command: Command) => {
      const settings = new Settings(command);
      const listen = settings.get(SETTINGS.mcpListen, 'listen');
      const address = listen.value === undefined ? undefined : parseListen(listen.value, listen.origin);
      const connection = resolveConnection(flags);
      const client = new Oblien({
        baseURL: connection.apiUrl,
        clientId: connection.clientId,
        clientSecret: connection.clientSecret,
        gatewayURL: connection.gatewayUrl,
        fetch: httpFetch,
      });
      if (!address) {
        const { serveStdio } = await import('../mcp/transports/stdio.js');
        await serveStdio(client);
        return;
      }
      const { generateToken, serveHttp } = await import('../mcp/transports/http.js');
      const configured = settings.get(SETTINGS.mcpToken, 'token');
      const token = configured.value ?? generateToken();
      const server = await serveHttp(client, { ...address, token }).catch((err: NodeJS.ErrnoException) => {
        throw new CliError(`cannot listen on ${listen.value}: ${err.code ?? err.message}`, EXIT.error);
      });
      const stopped = untilStopped(() => server.close());
      process.stdout.write(`cove mcp: serving MCP at ${server.url}\n`);
      process.stdout.write(configured.value === undefined ? `token: ${token}\n` : `token: from ${configured.origin}\n`);
      await stopped;
    });
}
