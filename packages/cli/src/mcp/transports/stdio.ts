import type { Oblien } from '@cove/sdk';
import { createMcpServer } from '../server.js';

/**
 * Serves MCP on stdin/stdout until the client closes stdin (or a stop signal): how MCP clients run a local
 * server. stdout carries the protocol alone, so nothing else may write to it.
 */
export async function serveStdio(client: Oblien): Promise<void> {
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  const server = await createMcpServer(client);
  const transport = new StdioServerTransport();
  const done = new Promise<void>((resolve) => {
    // The transport reads stdin but does not notice its end: the client going away is the end of the server.
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.connect(transport);
  await done;
  await server.close();
}
