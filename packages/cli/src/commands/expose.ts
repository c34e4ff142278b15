import type { ExposePortParams, PublicAccessPort } from '@cove/sdk';
import { Command, Option } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { paint, printJson, printTable } from '../output.js';

/** A port argument: a decimal 1–65535 (the server refuses the agent's 9990 with its reason). */
export function parsePort(value: string, what = 'port'): number {
  const port = /^[0-9]{1,5}$/.test(value) ? Number(value) : 0;
  if (port < 1 || port > 65535) throw new CliError(`invalid ${what} '${value}': expected 1-65535`, EXIT.usage);
  return port;
}

interface ExposeFlags {
  slug?: string;
  auth?: 'public' | 'token';
  label?: string;
}

function printExposed(p: PublicAccessPort): void {
  process.stdout.write(`${p.url ?? ''}\n`);
  if (p.token !== undefined) {
    // The control plane keeps only a hash: this is the one time the token can be shown.
    process.stdout.write(
      `${paint('token:', 'bold')} ${p.token}\n` +
        `${paint('shown once: open the URL with ?token=<token> (the gateway then keeps it in a cookie) or send Authorization: Bearer <token>', 'dim')}\n`,
    );
  }
}

/** `cove expose <ws> <port>`, `cove expose ls <ws>`, `cove expose rm <ws> <port>`: public URLs for a workspace's ports. */
export function exposeCommand(): Command {
  const ls = withConnection(new Command('ls'))
    .alias('list')
    .description("List a workspace's exposed ports and their URLs")
    .argument('<workspace>', 'id or name')
    .addHelpText('after', '\nExample:\n  cove expose ls dev')
    .action(async (ref: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const ports = await s.client.workspaces.publicAccess.list(await resolveWorkspace(s, ref));
      if (s.json) return printJson(ports);
      if (ports.length === 0) return void process.stdout.write('no exposed ports\n');
      printTable(
        ['PORT', 'URL', 'AUTH', 'LABEL'],
        ports.map((p) => [String(p.port), p.url ?? '', p.auth ?? 'public', p.label ?? '']),
      );
    });

  const rm = withConnection(new Command('rm'))
    .alias('revoke')
    .description('Revoke an exposed port: its URL stops answering at once')
    .argument('<workspace>', 'id or name')
    .argument('<port>', 'the exposed port')
    .addHelpText('after', '\nExample:\n  cove expose rm dev 3000')
    .action(async (ref: string, rawPort: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const port = parsePort(rawPort);
      const id = await resolveWorkspace(s, ref);
      const res = await s.client.workspaces.publicAccess.revoke(id, port);
      if (s.json) printJson(res);
      else process.stdout.write(`revoked port ${port} of ${id}\n`);
    });

  return withConnection(new Command('expose'))
    .description('Serve a workspace port at a public URL through the gateway (HTTP and WebSockets)')
    .argument('<workspace>', 'id or name')
    .argument('<port>', 'the port inside the workspace (your app listens on it)')
    .option('--slug <slug>', 'the URL host name label: lowercase letters, digits and -, 3-63 characters (default: generated)')
    .addOption(
      new Option('--auth <mode>', 'public: the URL is enough; token: also needs the token printed once').choices(['public', 'token']),
    )
    .option('--label <text>', 'a note shown by `cove expose ls`')
    .addCommand(ls)
    .addCommand(rm)
    .addHelpText(
      'after',
      `
The URL is http://<slug>.<preview domain>:<gateway port>/ (\`cove up --preview-domain\`, default localhost: every
*.localhost name resolves to this machine). Exposing an exposed port again returns it, or changes what the flags say;
with --auth token the token is printed once, and the URL then needs it.

Examples:
  cove expose dev 3000                       # prints http://3000-a1b2c3-x7k2q9.localhost:9080/
  cove expose dev 8080 --slug my-api --label api
  cove expose dev 5173 --auth token          # prints the URL, and the token once
  cove expose ls dev
  cove expose rm dev 3000`,
    )
    .action(async (ref: string, rawPort: string, flags: ExposeFlags, command: Command) => {
      const s = session(command);
      const params: ExposePortParams = { port: parsePort(rawPort) };
      if (flags.slug !== undefined) params.slug = flags.slug;
      if (flags.label !== undefined) params.label = flags.label;
      if (flags.auth !== undefined) params.auth = flags.auth;
      const port = await s.client.workspaces.publicAccess.expose(await resolveWorkspace(s, ref), params);
      if (s.json) printJson(port);
      else printExposed(port);
    });
}
