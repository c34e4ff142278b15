// The agent's API on a Unix socket in its state directory, beside its TCP port: the control plane's own channel
// (workloads, the command log). It reaches the agent through the file system (in a sandbox, through the
// container's root), so it needs neither the workspace's network nor a firewall opening; the bearer token is
// still required, as on the port.

import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AgentApp } from './context.js';

/** The socket's name in the state directory. */
export const CONTROL_SOCKET_NAME = 'agent.sock';

/** sun_path holds 108 bytes with its NUL: a longer path cannot be bound. */
const MAX_SOCKET_PATH = 107;

/** Serves `app` on `<stateDir>/agent.sock` (mode 0600); undefined when the path is too long to bind. */
export async function listenControlSocket(app: AgentApp, stateDir: string, log: Logger): Promise<Server | undefined> {
  const file = path.join(stateDir, CONTROL_SOCKET_NAME);
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH) {
    log.warn({ file }, 'the control socket path is too long to bind; the agent serves its port only');
    return undefined;
  }
  // A socket left by a previous agent (killed, never cleaned up) would make the bind fail.
  await rm(file, { force: true });
  const server = createServer((req, res) => app.routing(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(file, 0o600);
  return server;
}

export async function closeControlSocket(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
