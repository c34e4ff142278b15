// The agent's entry inside a workspace: `cove agent` with only the agent's
// modules loaded (not the control plane's or the gateway's), which shortens
// a workspace's start. Mounted read-only at /opt/cove/app with the packages.
import { agentCommand } from '../../cli/dist/commands/agent.js';

try {
  await agentCommand().exitOverride().parseAsync(process.argv);
} catch (err) {
  if (typeof err?.code === 'string' && err.code.startsWith('commander.')) process.exit(err.exitCode ?? 2);
  process.stderr.write(`cove agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(typeof err?.exitCode === 'number' ? err.exitCode : 1);
}
