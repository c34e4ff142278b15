import { Command, CommanderError } from 'commander';
import { CliError } from './cli-error.js';
import { agentCommand } from './commands/agent.js';
import { apiCommand } from './commands/api.js';
import { gatewayCommand } from './commands/gateway.js';

/** Builds the `cove` program. */
export function program(): Command {
  const cove = new Command('cove').description('Cove: self-hostable workspace runtime').showHelpAfterError().exitOverride();
  cove.addCommand(agentCommand());
  cove.addCommand(apiCommand());
  cove.addCommand(gatewayCommand());
  return cove;
}

/** Runs `cove` with `argv` (process.argv form). Errors are one line on stderr, never a stack trace. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await program().parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(`cove: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
