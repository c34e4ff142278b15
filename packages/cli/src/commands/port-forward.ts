import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { Runtime, type RuntimeProxy } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, type Session, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { parseListen } from '../listen-address.js';
import { untilStopped } from '../stop-signals.js';
import { parsePort } from './expose.js';

/** Gateway JWTs live 60 minutes; a fresh one is taken well before. */
const TOKEN_REUSE_MS = 30 * 60_000;

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the request, so they are not relayed. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

function relayHeaders(headers: IncomingHttpHeaders, keepUpgrade: boolean): OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (keepUpgrade && (name === 'upgrade' || name === 'connection')) out[name] = value;
    else if (!HOP_BY_HOP.has(name) && !listed.has(name)) out[name] = value;
  }
  return out;
}

/** A gateway JWT for the workspace, minted through the control plane (access is enabled if it was not). */
function tokenSource(s: Session, id: string) {
  let current: { token: string; at: number } | undefined;
  const mint = async () => {
    current = { token: (await s.client.workspaces.apiAccess.enable(id)).token, at: Date.now() };
    return current.token;
  };
  return {
    get: async () => (current && Date.now() - current.at < TOKEN_REUSE_MS ? current.token : mint()),
    refresh: mint,
  };
}

/**
 * The local listener: every request and WebSocket upgrade goes to the workspace's port through the gateway and
 * the agent's `/proxy` (the SDK's `rt.proxy(port)` names the URL and target). Relayed with node:http rather than
 * fetch so that bytes, every header (each Set-Cookie, Content-Encoding) and streaming stay as the app sent them.
 */
function forwarder(proxy: RuntimeProxy, tokens: ReturnType<typeof tokenSource>, onError: (err: Error) => void): http.Server {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    tokens.get().then(
      (token) => {
        const headers = relayHeaders(req.headers, false);
        headers.authorization = `Bearer ${token}`;
        headers['x-oblien-proxy-target'] = proxy.target;
        const upstream = http.request(proxy.url(req.url ?? '/'), { method: req.method, headers, agent }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, relayHeaders(answer.headers, false));
          answer.pipe(res);
        });
        upstream.on('error', (err) => {
          onError(err);
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`cove port-forward: ${err.message}\n`);
          else res.destroy(err);
        });
        req.pipe(upstream);
      },
      (err: Error) => {
        onError(err);
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`cove port-forward: ${err.message}\n`);
      },
    );
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    tokens.get().then(
      (token) => {
        // As the SDK's rt.proxy(port).ws() does: token and target in the query (the agent removes both).
        const url = new URL(proxy.url(req.url ?? '/'));
        url.searchParams.set('token', token);
        url.searchParams.set('x_oblien_target', proxy.target);
        const upstream = http.request(url, { method: req.method, headers: relayHeaders(req.headers, true) });
        upstream.on('upgrade', (answer, upSocket, upHead) => {
          socket.write(statusBlock(answer));
          if (upHead.length > 0) socket.write(upHead);
          if (head.length > 0) upSocket.write(head);
          upSocket.on('error', () => socket.destroy());
          socket.on('error', () => upSocket.destroy());
          upSocket.pipe(socket).pipe(upSocket);
        });
        // Refused (401, 502 …): the answer goes back as it came, then the connection closes.
        upstream.on('response', (answer) => {
          socket.write(statusBlock(answer, true));
          answer.pipe(socket);
        });
        upstream.on('error', (err) => {
          onError(err);
          socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        });
        upstream.end();
      },
      (err: Error) => {
        onError(err);
        socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      },
    );
  });
  server.on('close', () => agent.destroy());
  return server;
}

/** An answer's status line and headers, as raw bytes for a socket. */
function statusBlock(answer: IncomingMessage, close = false): string {
  let block = `HTTP/1.1 ${answer.statusCode} ${answer.statusMessage ?? ''}\r\n`;
  for (let i = 0; i < answer.rawHeaders.length; i += 2) {
    const name = answer.rawHeaders[i] as string;
    if (close && /^(connection|keep-alive|transfer-encoding)$/i.test(name)) continue;
    block += `${name}: ${answer.rawHeaders[i + 1]}\r\n`;
  }
  return `${block}${close ? 'connection: close\r\n' : ''}\r\n`;
}

/** `cove port-forward <ws> <port> [local]`: a local port that reaches a workspace port, like `kubectl port-forward`. */
export function portForwardCommand(): Command {
  return withConnection(new Command('port-forward'))
    .description('Forward a local port to a workspace port (HTTP and WebSockets, not raw TCP), like kubectl port-forward')
    .argument('<workspace>', 'id or name')
    .argument('<port>', 'the port inside the workspace')
    .argument('[local]', 'the local port or host:port to listen on (default: 127.0.0.1 and the same port; 0 picks a free one)')
    .addHelpText(
      'after',
      `
It forwards HTTP requests and WebSocket upgrades, not raw TCP (a database protocol will not pass): each goes
through the gateway and the workspace agent's /proxy, authenticated with a gateway JWT that cove takes from the
control plane (enabling Internal API access if needed). The workspace needs public access
(cove network set dev --public-access). Nothing is exposed: only this machine's listener reaches the port.
The app does not see the caller's Authorization header (it carries the JWT to the gateway), and its cookies
are dropped (the gateway's /proxy is one origin for every workspace): for an app that needs them, use cove expose.

Examples:
  cove port-forward dev 3000                  # http://127.0.0.1:3000 → port 3000 in dev
  cove port-forward dev 5173 8080             # http://127.0.0.1:8080 → port 5173
  cove port-forward dev 3000 0.0.0.0:3000     # listen on every interface`,
    )
    .action(async (ref: string, rawPort: string, local: string | undefined, _flags: unknown, command: Command) => {
      const port = parsePort(rawPort);
      const where = local === undefined ? `127.0.0.1:${port}` : /^[0-9]+$/.test(local) ? `127.0.0.1:${local}` : local;
      const listen = parseListen(where, 'the local address');
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const tokens = tokenSource(s, id);
      await tokens.get();
      const rt = new Runtime({ baseURL: s.connection.gatewayUrl, tokens });
      const server = forwarder(rt.proxy(port), tokens, (err) => process.stderr.write(`cove port-forward: ${err.message}\n`));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(new CliError(`cannot listen on ${where}: ${err.code ?? err.message}`, EXIT.error)),
        );
        server.listen(listen.port, listen.host, () => resolve());
      });
      const address = server.address();
      const bound = typeof address === 'object' && address ? `${address.address}:${address.port}` : where;
      const stopped = untilStopped(() =>
        new Promise((resolve) => server.close(() => resolve(undefined))).then(() => server.closeAllConnections()),
      );
      process.stdout.write(`Forwarding http://${bound} -> ${id}:${port} (HTTP and WebSockets; Ctrl-C to stop)\n`);
      await stopped;
    });
}
