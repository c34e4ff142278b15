import { Command } from 'commander';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { paint, printFields, printJson, withSpinner } from '../output.js';

type Verb = 'enable' | 'disable' | 'rotate' | 'raw' | 'status';

const VERBS: Record<Verb, { description: string; example: string }> = {
  enable: { description: "Enable the workspace's Internal API server; prints a gateway JWT", example: 'cove access enable dev' },
  disable: { description: 'Disable it: kills its sessions and revokes every token', example: 'cove access disable dev' },
  rotate: { description: 'Rotate the token: earlier tokens stop working; prints the new JWT', example: 'cove access rotate dev --json' },
  raw: {
    description: "The agent's raw token and private address, for direct workspace-to-workspace calls",
    example: 'TOKEN=$(cove access raw dev --json | jq -r .token)',
  },
  status: { description: 'Whether the server is enabled', example: 'cove access status dev' },
};

function verbCommand(verb: Verb): Command {
  const { description, example } = VERBS[verb];
  return withConnection(new Command(verb))
    .description(description)
    .argument('<workspace>', 'id or name')
    .addHelpText('after', `\nExample:\n  ${example}`)
    .action(async (ref: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const access = s.client.workspaces.apiAccess;
      const answer = await withSpinner<Record<string, unknown>>(`${verb} ${ref}`, s.json, () => {
        switch (verb) {
          case 'enable':
            return access.enable(id);
          case 'disable':
            return access.disable(id);
          case 'rotate':
            return access.rotateToken(id);
          case 'raw':
            return access.rawToken(id);
          case 'status':
            return access.status(id);
        }
      });
      if (s.json) {
        printJson(answer);
        return;
      }
      const enabled = answer.enabled;
      printFields([
        ['workspace', id],
        ['enabled', typeof enabled === 'boolean' ? (enabled ? paint('yes', 'green') : paint('no', 'dim')) : undefined],
        ['token', answer.token],
        ['expires', answer.expires_at],
        ['ip', answer.ip],
        ['port', answer.port],
      ]);
    });
}

/** `cove access …`: a workspace's Internal API server and its tokens. */
export function accessCommand(): Command {
  const access = new Command('access').description("Manage a workspace's Internal API access and tokens");
  for (const verb of Object.keys(VERBS) as Verb[]) access.addCommand(verbCommand(verb));
  return access.addHelpText('after', '\nExamples:\n  cove access enable dev\n  cove access rotate dev\n  cove access raw dev --json');
}
