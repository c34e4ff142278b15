// Starts the built agent as its own process, the way it runs for real.
import { randomBytes } from 'node:crypto';
import { agentBin, spawnCove } from './cove-process.mjs';

/**
 * @param {{ workdir: string, env?: Record<string, string>, nodeArgs?: string[] }} options
 * @returns {Promise<{ url: string, token: string, pid: number, rssBytes(): number, close(): Promise<void> }>}
 */
export async function spawnAgent({ workdir, env = {}, nodeArgs = [] }) {
  const token = randomBytes(16).toString('hex');
  const proc = await spawnCove({
    bin: agentBin,
    args: ['--listen', '127.0.0.1:0', '--workdir', workdir],
    env: { COVE_AGENT_TOKEN: token, ...env },
    nodeArgs,
  });
  return { ...proc, token };
}
