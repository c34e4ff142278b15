import type { Command } from 'commander';

/**
 * Every `cove` command, as the root help lists it, and how to load it. A run
 * loads only the command it runs (`cove exec` never loads the servers' code, nor
 * `cp`'s tar), so the CLI starts about as fast as Node itself; the root help
 * lists the others from these lines alone.
 */
export interface CommandEntry {
  name: string;
  aliases?: readonly string[];
  /** Its arguments as the root help shows them. */
  args?: string;
  /** Its description (a test checks that it is the command's own). */
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'up',
    summary: 'Run everything on this machine: control plane, gateway and workspaces (SQLite store, no set-up)',
    load: async () => (await import('./commands/up.js')).upCommand(),
  },
  {
    name: 'agent',
    args: '[flags...]',
    summary: 'Run the workspace agent (the Internal API server); cove agent --help lists its flags',
    load: async () => (await import('./commands/agent.js')).agentCommand(),
  },
  {
    name: 'api',
    summary: 'Run the control plane (workspaces, credentials, access tokens, network)',
    load: async () => (await import('./commands/api.js')).apiCommand(),
  },
  {
    name: 'gateway',
    summary: 'Run the gateway (routes gateway JWTs to workspace agents)',
    load: async () => (await import('./commands/gateway.js')).gatewayCommand(),
  },
  {
    name: 'ws',
    aliases: ['workspace'],
    summary: 'Create, list, start, stop, pause and delete workspaces',
    load: async () => (await import('./commands/ws.js')).wsCommand(),
  },
  {
    name: 'image',
    aliases: ['images'],
    summary: 'Pull, import, build, list and remove the images workspaces are created from',
    load: async () => (await import('./commands/image.js')).imageCommand(),
  },
  {
    name: 'access',
    summary: "Manage a workspace's Internal API access and tokens",
    load: async () => (await import('./commands/access.js')).accessCommand(),
  },
  {
    name: 'network',
    summary: 'Show and change who can reach a workspace',
    load: async () => (await import('./commands/network.js')).networkCommand(),
  },
  {
    name: 'expose',
    args: '<workspace> <port>',
    summary: 'Serve a workspace port at a public URL through the gateway (HTTP and WebSockets)',
    load: async () => (await import('./commands/expose.js')).exposeCommand(),
  },
  {
    name: 'port-forward',
    args: '<workspace> <port> [local]',
    summary: 'Forward a local port to a workspace port (HTTP and WebSockets, not raw TCP), like kubectl port-forward',
    load: async () => (await import('./commands/port-forward.js')).portForwardCommand(),
  },
  {
    name: 'exec',
    args: '<workspace> <command...>',
    summary: 'Run a command in a workspace: output streams live, stdin is forwarded, the exit code is the remote one',
    load: async () => (await import('./commands/exec.js')).execCommand(),
  },
  {
    name: 'shell',
    aliases: ['sh'],
    args: '<workspace> [command...]',
    summary: 'Open an interactive shell in a workspace (like ssh)',
    load: async () => (await import('./commands/shell.js')).shellCommand(),
  },
  {
    name: 'cp',
    args: '<source> <destination>',
    summary: 'Copy files and directories between this machine and a workspace',
    load: async () => (await import('./commands/cp.js')).cpCommand(),
  },
  {
    name: 'ls',
    args: '<workspace> [path]',
    summary: 'List a directory in a workspace',
    load: async () => (await import('./commands/ls.js')).lsCommand(),
  },
  {
    name: 'cat',
    args: '<workspace> [paths...]',
    summary: 'Print files from a workspace (binary-safe)',
    load: async () => (await import('./commands/cat.js')).catCommand(),
  },
  {
    name: 'rm',
    args: '<workspace> [paths...]',
    summary: 'Delete files or directories in a workspace',
    load: async () => (await import('./commands/rm.js')).rmCommand(),
  },
  {
    name: 'search',
    aliases: ['grep'],
    args: '<workspace> <query> [path]',
    summary: 'Search file contents in a workspace (ripgrep)',
    load: async () => (await import('./commands/search.js')).searchCommand(),
  },
  {
    name: 'find',
    args: '<workspace> <query> [path]',
    summary: 'Find files by name in a workspace (substring of the path)',
    load: async () => (await import('./commands/find.js')).findCommand(),
  },
  {
    name: 'stats',
    args: '<workspaces...>',
    summary: "Show workspaces' CPU, memory, processes, disk and network use, live (a table refreshed every second)",
    load: async () => (await import('./commands/stats.js')).statsCommand(),
  },
  {
    name: 'logs',
    args: '<workspace>',
    summary: "Show a workspace's boot log (its start-up and agent output) or command log (commands run through exec)",
    load: async () => (await import('./commands/logs.js')).logsCommand(),
  },
  {
    name: 'workload',
    aliases: ['workloads'],
    summary: 'Run and manage supervised background processes in a workspace',
    load: async () => (await import('./commands/workload.js')).workloadCommand(),
  },
  {
    name: 'mcp',
    summary: 'Serve workspaces to AI agents over MCP (stdio, or streamable HTTP with --listen): create, exec, read, edit, search',
    load: async () => (await import('./commands/mcp.js')).mcpCommand(),
  },
  {
    name: 'snapshot',
    args: '<workspace>',
    summary: "Snapshot a workspace's file system (frozen for the instant; memory is not included)",
    load: async () => (await import('./commands/snapshot.js')).snapshotCommand(),
  },
  {
    name: 'restore',
    args: '<workspace>',
    summary: "Bring a workspace's file system back to its latest snapshot (a running workspace restarts)",
    load: async () => (await import('./commands/snapshot.js')).restoreCommand(),
  },
  {
    name: 'archive',
    aliases: ['archives'],
    summary: "Versioned archives of a workspace's file system: create, list, show or download, delete",
    load: async () => (await import('./commands/archive.js')).archiveCommand(),
  },
  {
    name: 'watch',
    args: '<workspace> [path]',
    summary: 'Print file changes in a workspace as they happen (until Ctrl-C)',
    load: async () => (await import('./commands/watch.js')).watchCommand(),
  },
];

/** The entry `cove ARGS…` runs (or `cove help NAME` describes): the first argument that is not an option, by name or alias. */
export function selectedCommand(argv: readonly string[]): CommandEntry | undefined {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  // `cove help exec` shows exec's own help, so exec is loaded for it.
  const first = words[0] === 'help' ? words[1] : words[0];
  if (first === undefined) return undefined;
  return COMMANDS.find((c) => c.name === first || c.aliases?.includes(first));
}
