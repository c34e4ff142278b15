// The agent's entry point (`bin/cove-agent.js`, `cove agent`, and what both drivers start). It loads only the
// command line parser until the arguments are known to be good, then the server: a workspace's agent starts
// without the control plane's, the gateway's or the CLI's code.
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AgentExitError, agentHelp, parseAgentArgs } from './agent-args.js';

/** The agent's executable (`node AGENT_BIN [flags]`), for drivers that start it as a process. */
export const AGENT_BIN = fileURLToPath(new URL('../bin/cove-agent.js', import.meta.url));

export interface AgentMainOptions {
  /** The program's name in help and error messages. */
  prog?: string;
}

/**
 * Runs the agent with `args` (the arguments after the program name) until SIGTERM or SIGINT; resolves to the
 * exit status: 0 after a clean stop or `--help`, 2 for a usage error, 1 when it cannot listen. Errors are one
 * line on stderr.
 */
export async function main(args: readonly string[], options: AgentMainOptions = {}): Promise<number> {
  const prog = options.prog ?? 'cove-agent';
  try {
    const parsed = parseAgentArgs(args, process.env);
    if (parsed.help) {
      process.stdout.write(agentHelp(prog));
      return 0;
    }
    const { runAgent } = await import('./run-agent.js');
    collectStartGarbage();
    await runAgent(parsed.config);
    return 0;
  } catch (err) {
    process.stderr.write(`${prog}: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof AgentExitError ? err.exitCode : 1;
  }
}

/**
 * One full garbage collection a moment after the start: what loading and route registration left behind
 * (~2 MiB) is returned before the agent idles, which it mostly does (a young generation collection alone
 * never reaches it, and an idle agent allocates too little for V8 to run a full one).
 */
function collectStartGarbage(): void {
  setTimeout(() => {
    // The documented way to reach `gc` without starting node with --expose-gc (which would expose it to
    // every module from the start): allow it, then take it from a fresh context.
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  }, 3000).unref();
}
