// The MCP SDK's own client, connected to the real `cove mcp` over stdio or streamable HTTP.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { COVE_BIN } from './stack.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read structured results field by field and assert on them
export type Json = any;

export interface ToolResult {
  isError: boolean;
  text: string;
  structured: Json;
}

export interface McpSession {
  client: Client;
  /** Calls a tool; the result's text (all text parts), `structuredContent` and `isError`. */
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  /** Calls a tool that must succeed: its structured content. */
  ok(name: string, args?: Record<string, unknown>): Promise<Json>;
  /** What `cove mcp` wrote on stderr (stdio only). */
  stderr(): string;
  close(): Promise<void>;
}

/** Tool calls may create workspaces (image pulls, sandboxes): longer than the client's default minute. */
const CALL_TIMEOUT_MS = 300_000;

function session(client: Client, stderr: () => string): McpSession {
  const call: McpSession['call'] = async (name, args = {}) => {
    const res = (await client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS })) as Json;
    const text = (res.content as Json[])
      .filter((c) => c.type === 'text')
      .map((c) => c.text)
      .join('\n');
    return { isError: res.isError === true, text, structured: res.structuredContent };
  };
  return {
    client,
    call,
    async ok(name, args) {
      const res = await call(name, args);
      if (res.isError) throw new Error(`${name} failed: ${res.text}`);
      return res.structured;
    },
    stderr,
    close: () => client.close(),
  };
}

/** Starts `cove mcp` (with `env` on top of a clean environment) and connects to it over stdio. */
export async function connectStdio(env: Record<string, string>, args: readonly string[] = []): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [COVE_BIN, 'mcp', ...args],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const client = new Client({ name: 'cove-test', version: '1.0.0' });
  await client.connect(transport);
  return session(client, () => stderr);
}

/** Connects to `cove mcp --listen` at `url`, with `token` as the bearer token (none when undefined). */
export async function connectHttp(url: string, token: string | undefined): Promise<McpSession> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(token !== undefined ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
  });
  const client = new Client({ name: 'cove-test', version: '1.0.0' });
  await client.connect(transport);
  return session(client, () => '');
}
