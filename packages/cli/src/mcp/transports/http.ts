import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Oblien } from '@cove/sdk';
import { createMcpServer } from '../server.js';

/** Where the MCP endpoint is served (every other path is 404). */
export const MCP_PATH = '/mcp';
/** Request bodies up to this size: a whole file written by workspace_write_file travels in one. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** A token for `--listen` when none is configured: 32 random bytes, base64url. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
function authorized(req: http.IncomingMessage, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1] as string), expected);
}

/** A JSON-RPC error answer, as MCP clients read failures of the transport itself. */
function refuse(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message }, id: null }));
}

export interface HttpMcpServer {
  /** `http://host:port/mcp`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves MCP over streamable HTTP at `/mcp`, every request with the bearer token. Stateless: each request gets
 * its own MCP server over the shared SDK client (tools keep no state between calls), so nothing piles up
 * for clients that go away without ending their session.
 */
export async function serveHttp(client: Oblien, options: { host: string; port: number; token: string }): Promise<HttpMcpServer> {
  const { StreamableHTTPServerTransport } = await import('@modelcontextprotocol/sdk/server/streamableHttp.js');
  const expected = digest(options.token);
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== MCP_PATH) return refuse(res, 404, `not found: the MCP endpoint is ${MCP_PATH}`);
    if (!authorized(req, expected)) {
      return refuse(res, 401, 'unauthorized: send Authorization: Bearer <token> (cove mcp --token / COVE_MCP_TOKEN)', {
        'www-authenticate': 'Bearer realm="cove-mcp"',
      });
    }
    const server = await createMcpServer(client);
    // No session id generator: stateless mode.
    const transport = new StreamableHTTPServerTransport({ maxRequestBodySize: MAX_BODY_BYTES });
    res.on('close', () => {
      transport.close().catch(() => {});
      server.close().catch(() => {});
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };
  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A failure outside a tool (a broken request): answer it if still possible, keep serving.
      if (!res.headersSent) refuse(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}${MCP_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      }),
  };
}
