// Starts the built gateway as its own process over a static routes file, the way `cove gateway` runs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';

const bin = fileURLToPath(new URL('../../packages/cli/bin/cove.js', import.meta.url));

/**
 * @param {{ dir: string, workspaces: Array<{ workspaceId: string, ip: string, port: number, rawToken: string, generation?: number }> }} options
 * @returns {Promise<{ url: string, pid: number, mint(workspaceId: string): Promise<string>, rssBytes(): number, close(): Promise<void> }>}
 */
export async function spawnGateway({ dir, workspaces }) {
  const secretText = randomBytes(32).toString('base64url');
  const secret = new Uint8Array(Buffer.from(secretText, 'base64url'));
  const routesFile = path.join(dir, 'routes.json');
  writeFileSync(routesFile, JSON.stringify({ workspaces }), { mode: 0o600 });
  const child = spawn(process.execPath, [bin, 'gateway', '--listen', '127.0.0.1:0', '--routes-file', routesFile], {
    env: { ...process.env, COVE_GATEWAY_SECRET: secretText, COVE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ready on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    async mint(workspaceId) {
      const w = workspaces.find((x) => x.workspaceId === workspaceId);
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ wid: w.workspaceId, ip: w.ip, port: w.port, gen: w.generation ?? 1, kind: 'session' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(w.workspaceId)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(secret);
    },
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
