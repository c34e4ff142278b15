import { Command, CommanderError } from 'commander';
import { EXIT, toCliError } from './exit-codes.js';
import { userCommands } from './user-commands.js';

const ROOT_HELP = `
Configuration (first found wins): flags --api-url, --gateway-url, --client-id,
--client-secret; then COVE_API_URL, COVE_GATEWAY_URL, COVE_CLIENT_ID,
COVE_CLIENT_SECRET; then the credentials file \`cove up\` writes
($COVE_DATA_DIR/credentials.json, default ~/.cove/credentials.json).

Exit status: 0 ok; 1 error (the server refused or failed, or a local file
operation failed); 2 bad arguments or missing configuration; 3 server
unreachable; exec and shell: the remote command's status, 255 when cove failed.

Examples:
  cove up                                  # control plane + gateway, writes credentials
  cove ws create --name dev --public-access
  cove exec dev -- uname -a
  cove shell dev
  cove cp ./site dev:/srv/site`;

/** Every command exits through `main` (no process.exit inside commander), with help after a usage error. */
function configure(command: Command): void {
  command.exitOverride().showHelpAfterError();
  for (const sub of command.commands) configure(sub);
}

/** The server commands. They load the servers' code, so they are imported only when needed. */
async function serverCommands(): Promise<Command[]> {
  const [{ agentCommand }, { apiCommand }, { gatewayCommand }, { upCommand }] = await Promise.all([
    import('./commands/agent.js'),
    import('./commands/api.js'),
    import('./commands/gateway.js'),
    import('./commands/up.js'),
  ]);
  return [upCommand(), agentCommand(), apiCommand(), gatewayCommand()];
}

/**
 * Builds the `cove` program for `argv`. A user command (`cove ws …`) does
 * not load the servers' code: it starts in a fraction of the time.
 */
export async function program(argv: readonly string[] = process.argv): Promise<Command> {
  const cove = new Command('cove').description('Cove: self-hostable workspace runtime').addHelpText('after', ROOT_HELP);
  const users = userCommands();
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const isUserCommand = users.some((c) => c.name() === first || c.aliases().includes(first ?? ''));
  if (!isUserCommand) for (const command of await serverCommands()) cove.addCommand(command);
  for (const command of users) cove.addCommand(command);
  configure(cove);
  return cove;
}

/** Runs `cove` with `argv` (process.argv form). Errors are one line on stderr, never a stack trace. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await (await program(argv)).parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the message; help and --version are successes, everything else is a usage error.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const cli = toCliError(err);
    process.stderr.write(`cove: ${cli.message}\n`);
    process.exitCode = cli.exitCode;
  }
}
