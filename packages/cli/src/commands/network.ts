import type { NetworkSettings } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { paint, printFields, printJson } from '../output.js';

const yesNo = (v: unknown) => (v === true ? paint('yes', 'green') : v === false ? paint('no', 'dim') : undefined);

function show(n: NetworkSettings): void {
  const links = (n.private_link_ids ?? []).join(', ');
  printFields([
    ['workspace', n.workspace_id],
    ['ip', n.ip ?? null],
    ['public access', yesNo(n.public_access)],
    ['internet', yesNo(n.allow_internet)],
    ['private links', links === '' ? '-' : links],
    ['egress', (n.egress ?? []).length === 0 ? 'any' : (n.egress ?? []).join(', ')],
  ]);
}

/** `a, b,,c` → `['a', 'b', 'c']`; `''` → `[]`. */
function commaList(value: string): string[] {
  return value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

interface SetFlags {
  publicAccess?: boolean;
  allowInternet?: boolean;
  privateLinks?: string;
  egress?: string;
}

/** `cove network get|set`: who can reach a workspace. */
export function networkCommand(): Command {
  const get = withConnection(new Command('get'))
    .description("Show a workspace's network settings")
    .argument('<workspace>', 'id or name')
    .addHelpText('after', '\nExample:\n  cove network get dev')
    .action(async (ref: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const n = await s.client.workspaces.network.get(await resolveWorkspace(s, ref));
      if (s.json) printJson(n);
      else show(n);
    });

  const set = withConnection(new Command('set'))
    .description('Change network settings (only the flags given change)')
    .argument('<workspace>', 'id or name')
    .option('--public-access', 'reachable through the gateway')
    .option('--no-public-access', 'not reachable through the gateway (network-dark)')
    .option('--allow-internet', 'outbound internet on')
    .option('--no-allow-internet', 'outbound internet off')
    .option('--private-links <ids>', "comma-separated workspace ids that may call this one directly ('' for none)")
    .option('--egress <destinations>', "comma-separated allowed outbound IPv4 addresses, CIDR ranges or host names ('' for any)")
    .addHelpText(
      'after',
      `
Examples:
  cove network set dev --public-access
  cove network set target --private-links ws_caller1,ws_caller2
  cove network set dev --no-public-access --private-links ''
  cove network set dev --egress registry.npmjs.org,deb.debian.org`,
    )
    .action(async (ref: string, flags: SetFlags, command: Command) => {
      const s = session(command);
      const changes: { public_access?: boolean; allow_internet?: boolean; private_link_ids?: string[]; egress?: string[] } = {};
      if (flags.publicAccess !== undefined) changes.public_access = flags.publicAccess;
      if (flags.allowInternet !== undefined) changes.allow_internet = flags.allowInternet;
      if (flags.privateLinks !== undefined) {
        changes.private_link_ids = commaList(flags.privateLinks);
      }
      if (flags.egress !== undefined) changes.egress = commaList(flags.egress);
      if (Object.keys(changes).length === 0) {
        throw new CliError(
          'nothing to change: give --public-access, --no-public-access, --allow-internet, --private-links or --egress',
          EXIT.usage,
        );
      }
      const id = await resolveWorkspace(s, ref);
      const n = await s.client.workspaces.network.update(id, changes);
      if (s.json) printJson(n);
      else show(n);
    });

  return new Command('network')
    .description('Show and change who can reach a workspace')
    .addCommand(get)
    .addCommand(set)
    .addHelpText('after', '\nExamples:\n  cove network get dev\n  cove network set dev --public-access');
}
