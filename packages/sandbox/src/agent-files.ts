import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageConfig } from '@cove/protocol';
import { type AgentRuntime, ensureAgentRuntime, RUNTIME_MOUNT } from './agent-runtime.js';

/**
 * What is bind-mounted read-only into every workspace to run the agent: it
 * is not part of the image. The agent's runtime (node, tini, the native
 * helpers and ripgrep with every library they load, made once from the
 * host's; see agent-runtime.ts), and Cove's packages with their
 * node_modules (the layout `npm install` produced, so the workspace
 * symlinks in node_modules resolve inside too). The agent runs from its own
 * entry, `@cove/agent`'s `bin/cove-agent.js`, which loads its bundle
 * (`dist/bundle/agent.cjs`, one file with V8's code cache beside it) when it
 * is built, else the agent's modules.
 */
export interface AgentFiles {
  node: string;
  tini: string;
  /** The directory holding `packages/` and `node_modules/`. */
  appDir: string;
  /** ripgrep, shipped so that search works in images without it (default: the host's, when it has one). */
  rg?: string;
  /** Where runtimes are made and kept (default `/var/cache/cove/agent-runtime`). */
  runtimeCache?: string;
}

export const AGENT_MOUNT = RUNTIME_MOUNT;
/** The agent's executable, relative to the app directory (inside: under `/opt/cove/app`). */
const AGENT_BIN = 'packages/agent/bin/cove-agent.js';
/** The container's first process once the agent is started (before `runc start` it is the runtime's init). */
export const AGENT_INIT = `${AGENT_MOUNT}/bin/tini`;
/** The workspace's environment for the agent's commands (see `workspaceEnv`), in the token's directory. */
export const ENV_FILE_NAME = 'env';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The files of this installation: the running node, Debian's tini-static, the repository this package is in. */
export function defaultAgentFiles(): AgentFiles {
  const appDir = fileURLToPath(new URL('../../../', import.meta.url));
  return { node: process.execPath, tini: '/usr/bin/tini-static', appDir: path.resolve(appDir), rg: '/usr/bin/rg' };
}

export function missingAgentFiles(files: AgentFiles): string[] {
  const needed = [
    files.node,
    files.tini,
    path.join(files.appDir, 'node_modules'),
    path.join(files.appDir, AGENT_BIN),
    // What the executable imports: missing until the agent is built.
    path.join(files.appDir, 'packages/agent/dist/main.js'),
  ];
  return needed.filter((p) => !existsSync(p));
}

/** The runtime of `files` (made on first use, then reused until one of its sources changes). */
export function agentRuntime(files: AgentFiles): Promise<AgentRuntime> {
  const native = path.join(files.appDir, 'packages/agent/native/build');
  return ensureAgentRuntime(
    {
      programs: {
        node: files.node,
        tini: files.tini,
        'spawn-helper': path.join(native, 'spawn-helper'),
        'exec-as': path.join(native, 'exec-as'),
        'list-walker': path.join(native, 'list-walker'),
        'pty-reader': path.join(native, 'pty-reader'),
        ...(files.rg ? { rg: files.rg } : {}),
      },
      required: ['node', 'tini'],
      addons: [
        path.join(files.appDir, 'node_modules/node-pty/build/Release/pty.node'),
        path.join(files.appDir, 'packages/inotify/build/Release/cove_inotify.node'),
      ],
    },
    files.runtimeCache ?? '/var/cache/cove/agent-runtime',
  );
}

export function agentBinds(files: AgentFiles, runtime: AgentRuntime): Array<{ source: string; destination: string; readonly: boolean }> {
  return [
    { source: path.join(runtime.dir, 'bin'), destination: `${AGENT_MOUNT}/bin`, readonly: true },
    { source: path.join(runtime.dir, 'lib'), destination: `${AGENT_MOUNT}/lib`, readonly: true },
    { source: path.join(files.appDir, 'packages'), destination: `${AGENT_MOUNT}/app/packages`, readonly: true },
    { source: path.join(files.appDir, 'node_modules'), destination: `${AGENT_MOUNT}/app/node_modules`, readonly: true },
  ];
}

/**
 * The agent's own environment (the container process's): Cove's, never the image's, so that nothing an image
 * sets (NODE_OPTIONS, LD_PRELOAD, LD_LIBRARY_PATH) reaches the agent's node. The commands it starts get the
 * workspace's environment instead (`workspaceEnv`, through `--env-file`). Its PATH ends with the runtime's
 * `bin/`: the image's own ripgrep wins, the shipped one serves images without it.
 */
export function agentEnv(runtime: AgentRuntime): string[] {
  const has = (name: string) => runtime.programs.includes(name);
  return [
    `PATH=${DEFAULT_PATH}:${AGENT_MOUNT}/bin`,
    'HOME=/root',
    'LANG=C.UTF-8',
    ...(has('spawn-helper') ? [`COVE_SPAWN_HELPER=${AGENT_MOUNT}/bin/spawn-helper`] : []),
    ...(has('exec-as') ? [`COVE_EXEC_AS=${AGENT_MOUNT}/bin/exec-as`] : []),
    ...(has('list-walker') ? [`COVE_LIST_WALKER=${AGENT_MOUNT}/bin/list-walker`] : []),
    ...(has('pty-reader') ? [`COVE_PTY_READER=${AGENT_MOUNT}/bin/pty-reader`] : []),
  ];
}

/**
 * The environment the workspace's commands and terminals start from: Cove's defaults, then the image's `Env`
 * over them (an image's PATH, LANG or TERM wins). HOME is left to the agent when the image sets none: it is
 * the home of the user a command runs as (its /etc/passwd entry), as a container engine does.
 */
export function workspaceEnv(config: ImageConfig | undefined): string[] {
  const env = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['LANG', 'C.UTF-8'],
    ['TERM', 'xterm-256color'],
  ]);
  for (const entry of config?.env ?? []) {
    const eq = entry.indexOf('=');
    // An entry without '=' names a variable without a value: Docker drops it from the process environment.
    if (eq <= 0 || entry.includes('\0')) continue;
    env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/** The default directory of commands and terminals: the image's `WorkingDir` (made absolute), else /root. */
export function workspaceWorkdir(config: ImageConfig | undefined): string {
  const dir = config?.workingDir;
  return dir ? path.posix.resolve('/', dir) : '/root';
}

export interface AgentLaunch {
  port: number;
  workdir: string;
  tokenFile: string;
  /** The workspace's environment for commands (inside). */
  envFile?: string;
  /** The default user of commands and terminals (the image's `User`). */
  user?: string | null | undefined;
}

/** Where the agent keeps its state inside a workspace (root's only): workloads, the command log, its control socket. */
export const AGENT_STATE_DIR = '/var/lib/cove-agent';

/**
 * The agent's V8 flags (a small young generation keeps an idle agent's memory low), from `@cove/agent`'s
 * bin/node-flags.json: its bundle's code cache is made under the same flags, or V8 would refuse it.
 */
function agentNodeFlags(): string[] {
  try {
    const flags: unknown = JSON.parse(readFileSync(new URL('../../agent/bin/node-flags.json', import.meta.url), 'utf8'));
    if (Array.isArray(flags) && flags.every((f) => typeof f === 'string' && f.startsWith('--'))) return flags;
  } catch {
    // An installation without the file: the flags it has always had.
  }
  return ['--max-semi-space-size=2'];
}
let nodeFlags: string[] | undefined;

/** The container's first process: tini, then the agent on `port` with its token from a file. */
export function agentArgs(launch: AgentLaunch): string[] {
  nodeFlags ??= agentNodeFlags();
  return [
    AGENT_INIT,
    '--',
    `${AGENT_MOUNT}/bin/node`,
    ...nodeFlags,
    `${AGENT_MOUNT}/app/${AGENT_BIN}`,
    '--listen',
    `0.0.0.0:${launch.port}`,
    '--workdir',
    launch.workdir,
    '--token-file',
    launch.tokenFile,
    // The agent's own directory on the workspace's disk: workload definitions and logs survive restarts.
    '--state-dir',
    AGENT_STATE_DIR,
    ...(launch.envFile ? ['--env-file', launch.envFile] : []),
    // One argument: a user the image names may start with '-'.
    ...(launch.user ? [`--user=${launch.user}`] : []),
  ];
}
