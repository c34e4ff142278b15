import { Command } from 'commander';
import { CliError } from '../cli-error.js';

/** `cove api`: the control plane. */
export function apiCommand(): Command {
  return new Command('api').description('Run the control plane (workspaces, credentials, access tokens, network)').action(() => {
    throw new CliError('cove api is not available yet', 1);
  });
}
