import { Command } from 'commander';

/**
 * `cove agent`: the workspace agent, through its own entry (`@cove/agent/main`), which parses the flags and
 * prints the help; so `cove agent`, `cove-agent` and what the drivers run behave alike.
 */
export function agentCommand(): Command {
  return (
    new Command('agent')
      .description('Run the workspace agent (the Internal API server); cove agent --help lists its flags')
      // Every argument, --help included, goes to the agent's own parser.
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[flags...]')
      .action(async (flags: string[]) => {
        // Loaded only when the agent runs: the other server commands do not pay for it.
        const { main } = await import('@cove/agent/main');
        process.exitCode = await main(flags, { prog: 'cove agent' });
      })
  );
}
