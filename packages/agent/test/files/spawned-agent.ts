import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseAgentEvents } from '@cove/protocol';

/** The built `cove` binary (the test script builds before running tests). */
export const coveBin = fileURLToPath(new URL('../../../cli/bin/cove.js', import.meta.url));

export interface SpawnedAgent {
  url: string;
  token: string;
  child: ChildProcess;
  /** fetch with the bearer token. */
  request(method: string, pathAndQuery: string, body?: unknown): Promise<Response>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts the built agent as its own process: `argv` is the command that
 * ends up exec'ing `node cove.js agent ...` (directly, or through unshare).
 */
export async function spawnAgent(argv: string[], env: Record<string, string> = {}): Promise<SpawnedAgent> {
  const token = randomBytes(16).toString('hex');
  const [command, ...args] = argv;
  if (!command) throw new Error('no command');
  const child = spawn(command, args, {
    env: { ...process.env, COVE_AGENT_TOKEN: token, COVE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      const { events, rest } = parseAgentEvents(out + d);
      out = rest;
      const ready = events.find((e) => e.type === 'ready');
      if (ready?.type === 'ready') resolve(ready.url);
    });
    child.on('exit', (code) => reject(new Error(`agent exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    token,
    child,
    request(method, pathAndQuery, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      let payload: string | undefined;
      if (body !== undefined) {
        payload = JSON.stringify(body);
        headers['content-type'] = 'application/json';
      }
      return fetch(url + pathAndQuery, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    },
    kill() {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}
