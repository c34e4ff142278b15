// Starts the built agent as its own process, the way it runs for real.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../packages/cli/bin/cove.js', import.meta.url));

/**
 * @param {{ workdir: string, env?: Record<string, string>, nodeArgs?: string[] }} options
 * @returns {Promise<{ url: string, token: string, pid: number, rssBytes(): number, close(): Promise<void> }>}
 */
export async function spawnAgent({ workdir, env = {}, nodeArgs = [] }) {
  const token = randomBytes(16).toString('hex');
  const child = spawn(process.execPath, [...nodeArgs, bin, 'agent', '--listen', '127.0.0.1:0', '--workdir', workdir], {
    env: { ...process.env, COVE_AGENT_TOKEN: token, COVE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ready on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  return {
    url,
    token,
    pid: child.pid,
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return kb * 1024;
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
