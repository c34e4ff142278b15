import type { Oblien } from '@cove/sdk';
import type { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { Value } from '@sinclair/typebox/value';
import { cliVersion } from '../version.js';
import { progressReporter } from './progress.js';
import type { Tool, ToolContext } from './tool.js';
import { describeFailure } from './tool-error.js';
import { EXEC_TOOLS } from './tools/exec.js';
import { FILE_TOOLS } from './tools/files.js';
import { IMAGE_TOOLS } from './tools/images.js';
import { LIFECYCLE_TOOLS } from './tools/lifecycle.js';
import { LOG_TOOLS } from './tools/logs.js';
import { PUBLIC_ACCESS_TOOLS } from './tools/public-access.js';
import { SEARCH_TOOLS } from './tools/search.js';
import { SNAPSHOT_TOOLS } from './tools/snapshots.js';
import { WORKLOAD_TOOLS } from './tools/workloads.js';
import { WORKSPACE_TOOLS } from './tools/workspaces.js';

/** Every tool, in the order clients list them. */
export const TOOLS: readonly Tool[] = [
  ...WORKSPACE_TOOLS,
  ...EXEC_TOOLS,
  ...FILE_TOOLS,
  ...SEARCH_TOOLS,
  ...PUBLIC_ACCESS_TOOLS,
  ...SNAPSHOT_TOOLS,
  ...LOG_TOOLS,
  ...WORKLOAD_TOOLS,
  ...LIFECYCLE_TOOLS,
  ...IMAGE_TOOLS,
];

const INSTRUCTIONS = `Cove workspaces are isolated Linux machines. Create one with workspace_create (or pick one from
workspace_list), then work in it: workspace_exec runs commands, workspace_read_file / workspace_write_file /
workspace_edit_file change files, workspace_list_files, workspace_find_files and workspace_search look around,
workspace_expose_port serves an app at a public URL. workload_run keeps a server or worker running in the background
(workload_logs shows its output); workspace_logs shows the boot log and the commands run. workspace_snapshot saves the
file system, workspace_restore goes back to it, workspace_fork copies a workspace to try things side by side. Every
workspace tool takes the workspace's id or name. Delete workspaces you no longer need with workspace_delete.`;

/**
 * A tool's input schema as clients get it: the TypeBox one as JSON Schema, where an argument with a default is
 * not required (the server fills defaults in before it checks, so a model need not spell them out).
 */
function inputSchema(tool: Tool): McpTool['inputSchema'] {
  const schema = JSON.parse(JSON.stringify(tool.input)) as McpTool['inputSchema'] & { required?: string[] };
  const props = (schema.properties ?? {}) as Record<string, { default?: unknown }>;
  const required = (schema.required ?? []).filter((name) => props[name]?.default === undefined);
  if (required.length > 0) schema.required = required;
  else delete schema.required;
  return schema;
}

/** The tool list as MCP clients get it. */
function listing(): McpTool[] {
  return TOOLS.map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: inputSchema(t),
    annotations: { title: t.title, ...t.annotations },
  }));
}

/** Arguments checked against the tool's schema (defaults filled in, nothing coerced): the problems, or none. */
function check(tool: Tool, raw: unknown): { args: unknown; problems: string[] } {
  const args = Value.Default(tool.input, Value.Clone(raw ?? {}));
  const byPath = new Map<string, string>();
  for (const e of Value.Errors(tool.input, args)) {
    const where = e.path === '' ? 'arguments' : e.path.slice(1).replaceAll('/', '.');
    // One problem per argument (a missing one is also "not a string"), the first being the telling one.
    if (byPath.has(where)) continue;
    const union = (e.schema as { anyOf?: Array<{ type?: string }> }).anyOf;
    byPath.set(where, union ? `${e.message} (expected ${union.map((s) => s.type ?? '?').join(' or ')})` : e.message);
    if (byPath.size === 5) break;
  }
  return { args, problems: [...byPath].map(([where, message]) => `${where}: ${message}`) };
}

function failure(code: string, message: string, extra: Record<string, unknown> = {}): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: `${code}: ${message}` }],
    structuredContent: { error: { code, message, ...extra } },
  };
}

/** Runs one tool call. Whatever goes wrong becomes a tool error (isError) with the server's code: the server keeps serving. */
export async function callTool(
  client: Oblien,
  name: string,
  raw: unknown,
  signal: AbortSignal,
  progress: ToolContext['progress'] = () => {},
): Promise<CallToolResult> {
  const tool = TOOLS.find((t) => t.name === name);
  if (!tool) return failure('not_found', `no tool '${name}' (tools/list names them)`);
  const { args, problems } = check(tool, raw);
  if (problems.length > 0) return failure('bad_request', `invalid arguments for ${name}: ${problems.join('; ')}`);
  try {
    const out = await tool.run(args as never, { client, signal, progress });
    return { content: [{ type: 'text', text: out.text }], structuredContent: out.structured };
  } catch (err) {
    const ref = (args as { workspace?: unknown }).workspace;
    const { code, message, ...extra } = describeFailure(err, typeof ref === 'string' ? ref : undefined);
    return failure(code, message, extra);
  }
}

/**
 * An MCP server for one connection. The low-level `Server` rather than `McpServer`: tools are declared with
 * the protocol's JSON Schemas (TypeBox), which `McpServer` would want as Zod.
 */
export async function createMcpServer(client: Oblien): Promise<McpServer> {
  const [{ Server }, { CallToolRequestSchema, ListToolsRequestSchema }] = await Promise.all([
    import('@modelcontextprotocol/sdk/server/index.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]);
  const server = new Server(
    { name: 'cove', title: 'Cove workspaces', version: cliVersion() },
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
  );
  const tools = listing();
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    callTool(
      client,
      request.params.name,
      request.params.arguments,
      extra.signal,
      progressReporter(request.params._meta?.progressToken, extra.sendNotification),
    ),
  );
  return server;
}
