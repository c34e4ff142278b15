import { Command } from 'commander';
import { CliError } from '../cli-error.js';

/** `cove gateway`: the public entry that routes gateway JWTs to workspace agents. */
export function gatewayCommand(): Command {
  return new Command('gateway').description('Run the gateway (routes gateway JWTs to workspace agents)').action(() => {
    throw new CliError('cove gateway is not available yet', 1);
  });
}
