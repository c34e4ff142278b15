// Starts the built agent as its own process, the way it runs for real.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { agentBin, spawnCove } from './cove-process.mjs';

/** The node flags the agent runs with in a workspace (the sandbox passes them; its code cache is made under them). */
const AGENT_NODE_FLAGS = JSON.parse(readFileSync(new URL('../../packages/agent/bin/node-flags.json', import.meta.url), 'utf8'));

/**
 * @param {{ workdir: string, env?: Record<string, string>, nodeArgs?: string[] }} options nodeArgs: the
 *   agent's own flags unless given
 * @returns {Promise<{ url: string, token: string, pid: number, rssBytes(): number, close(): Promise<void> }>}
 */
export async function spawnAgent({ workdir, env = {}, nodeArgs = AGENT_NODE_FLAGS }) {
  const token = randomBytes(16).toString('hex');
  const proc = await spawnCove({
    bin: agentBin,
    args: ['--listen', '127.0.0.1:0', '--workdir', workdir],
    env: { COVE_AGENT_TOKEN: token, ...env },
    nodeArgs,
  });
  return { ...proc, token };
}
