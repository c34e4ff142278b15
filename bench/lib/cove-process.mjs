// Runs a `cove` server command (agent, gateway) as its own process, the way it runs for real.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAgentEvents } from '../../packages/protocol/dist/index.js';

const coveBin = fileURLToPath(new URL('../../packages/cli/bin/cove.js', import.meta.url));
/** The agent's own entry: what `cove agent` and the drivers run. */
export const agentBin = fileURLToPath(new URL('../../packages/agent/bin/cove-agent.js', import.meta.url));

/**
 * Starts `cove <args>` and resolves once it is ready: the agent's `ready` lifecycle message (a JSON line), or
 * the other servers' `… ready on URL` line.
 * @param {{ args: string[], env?: Record<string, string>, nodeArgs?: string[], bin?: string }} options
 * @returns {Promise<{ url: string, pid: number, rssBytes(): number, close(): Promise<void> }>}
 */
export async function spawnCove({ args, env = {}, nodeArgs = [], bin = coveBin }) {
  const child = spawn(process.execPath, [...nodeArgs, bin, ...args], {
    env: { ...process.env, COVE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const ready = parseAgentEvents(out).events.find((e) => e.type === 'ready');
      if (ready) resolve(ready.url);
      const m = /ready on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`${path.basename(bin)} ${args[0] ?? ''} exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    },
    close() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
