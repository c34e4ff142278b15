import { Command, CommanderError } from 'commander';
import { COMMANDS, selectedCommand } from './command-registry.js';
import { EXIT } from './exit-codes.js';
import { cliVersion } from './version.js';

const ROOT_HELP = `
Configuration: every setting is resolved on its own, first found wins: its
flag, its environment variable (each flag's help names it), the file
($COVE_DATA_DIR, default ~/.cove: config.json for the servers, credentials.json
written by \`cove up\` for the other commands), the default.

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

/** A command as the root help lists it, without loading it. */
function stub(entry: (typeof COMMANDS)[number]): Command {
  const command = new Command(entry.name).description(entry.summary);
  for (const alias of entry.aliases ?? []) command.alias(alias);
  if (entry.args) command.arguments(entry.args);
  return command;
}

/**
 * Builds the `cove` program for `argv`: the command it runs is loaded, the
 * others are only named (see command-registry.ts).
 */
export async function program(argv: readonly string[] = process.argv): Promise<Command> {
  const cove = new Command('cove')
    .description('Cove: self-hostable workspace runtime')
    .version(cliVersion(), '-V, --version', 'print the version')
    // `--version` is the program's only before the command: after it, it is the command's own
    // (`cove archive create dev --version v1`, as the official CLI spells an archive's version).
    .enablePositionalOptions()
    .addHelpText('after', ROOT_HELP);
  const selected = selectedCommand(argv);
  for (const entry of COMMANDS) cove.addCommand(entry === selected ? await entry.load() : stub(entry));
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
    // The SDK's error classes are loaded only when something failed.
    const { toCliError } = await import('./to-cli-error.js');
    const cli = toCliError(err);
    process.stderr.write(`cove: ${cli.message}\n`);
    process.exitCode = cli.exitCode;
  }
}
