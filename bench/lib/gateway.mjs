// Starts the built gateway as its own process over a static routes file, the way `cove gateway` runs.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { spawnCove } from './cove-process.mjs';

/**
 * @param {{ dir: string, workspaces: Array<{ workspaceId: string, ip: string, port: number, rawToken: string, generation?: number }> }} options
 * @returns {Promise<{ url: string, pid: number, mint(workspaceId: string): Promise<string>, rssBytes(): number, close(): Promise<void> }>}
 */
export async function spawnGateway({ dir, workspaces }) {
  const secretText = randomBytes(32).toString('base64url');
  const secret = new Uint8Array(Buffer.from(secretText, 'base64url'));
  const routesFile = path.join(dir, 'routes.json');
  writeFileSync(routesFile, JSON.stringify({ workspaces }), { mode: 0o600 });
  const proc = await spawnCove({
    args: ['gateway', '--listen', '127.0.0.1:0', '--routes-file', routesFile],
    env: { COVE_GATEWAY_SECRET: secretText },
  });
  return {
    ...proc,
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
  };
}
