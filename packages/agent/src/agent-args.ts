// The agent's command line: flags, the environment variable behind each, and the help. Only node:util is loaded
// here, so `--help` and usage errors answer without loading the server.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SERVER_DEFAULTS } from '@cove/protocol/defaults';
import type { TokenSource } from './auth/token-store.js';

/** Everything the agent is started with, resolved from flags, then the environment, then defaults. */
export interface AgentConfig {
  /** As given (`0.0.0.0:9990`), for messages. */
  listen: string;
  host: string;
  port: number;
  /** Absolute. */
  workdir: string;
  token: TokenSource;
  allowedOrigins: string[];
  /** Absolute: the environment commands and terminals start from (a JSON array of `KEY=value`). */
  envFile?: string;
  /** The user commands and terminals run as unless a request names one. */
  user?: string;
  /** Absolute: where workload definitions, the command log and the control socket live (none: a temporary one). */
  stateDir?: string;
}

/** A failure the agent reports as one line on stderr before exiting with `exitCode` (2: usage, 1: run time). */
export class AgentExitError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.name = 'AgentExitError';
    this.exitCode = exitCode;
  }
}

const usage = (message: string) => new AgentExitError(message, 2);

interface FlagHelp {
  flag: string;
  env: string;
  text: string;
}

const FLAGS: readonly FlagHelp[] = [
  { flag: '--listen <host:port>', env: 'COVE_AGENT_LISTEN', text: `address to listen on (default: ${SERVER_DEFAULTS.agentListen})` },
  {
    flag: '--workdir <dir>',
    env: 'COVE_AGENT_WORKDIR',
    text: `working directory for relative paths and commands (default: ${SERVER_DEFAULTS.agentWorkdir})`,
  },
  { flag: '--token-file <path>', env: 'COVE_AGENT_TOKEN_FILE', text: 'file holding the bearer token, re-read on SIGHUP' },
  {
    flag: '--env-file <path>',
    env: 'COVE_AGENT_ENV_FILE',
    text: "environment commands and terminals start from instead of the agent's own (a JSON array of KEY=value)",
  },
  {
    flag: '--user <user>',
    env: 'COVE_AGENT_USER',
    text: 'user commands and terminals run as unless a request names one: name, uid, name:group or uid:gid (needs root)',
  },
  {
    flag: '--state-dir <dir>',
    env: 'COVE_AGENT_STATE_DIR',
    text: "the agent's own directory: workloads, the command log, its control socket (default: a temporary one)",
  },
  {
    flag: '--allow-origin <origin...>',
    env: 'COVE_AGENT_ALLOW_ORIGIN',
    text: 'browser origins allowed to open /ws besides the agent host (environment: comma-separated)',
  },
];

/** The help `--help` prints, for the program named `prog` (`cove agent`, `cove-agent`). */
export function agentHelp(prog: string): string {
  const width = Math.max(...FLAGS.map((f) => f.flag.length)) + 2;
  const flags = FLAGS.map((f) => `  ${f.flag.padEnd(width)}${f.text}\n  ${''.padEnd(width)}env: ${f.env}`).join('\n');
  return `Usage: ${prog} [options]

Run the workspace agent: the Internal API server of one workspace.

Options (a flag wins over its environment variable):
${flags}
  ${'-h, --help'.padEnd(width)}show this help

Environment:
  COVE_AGENT_TOKEN   the bearer token when there is no token file; dropped from the
                     environment once read, so commands the agent runs do not inherit it
  COVE_LOG_LEVEL     log level of the JSON logs on stderr (default: info)
  COVE_SPAWN_HELPER  the spawn helper to start commands with (default: the one npm ci built)
  COVE_EXEC_AS       exec-as, which switches users (default: the one npm ci built)
  COVE_LIST_WALKER   the native directory walker of listings (default: the one npm ci built)
  COVE_PTY_READER    the reader that drains terminals' output (default: the one npm ci built)

The token comes from COVE_AGENT_TOKEN or a token file, never from the command line.
SIGHUP re-reads the token file (the old token stops working at once); SIGTERM and
SIGINT stop the agent. stdout carries only its lifecycle messages, one JSON line each:
  {"type":"ready","url":…,"listen":…,"port":…,…}  once it serves
  {"type":"token-reloaded"}                        after SIGHUP, the new token is in use
  {"type":"token-reload-failed","error":…}         after SIGHUP, the previous token is kept

Examples:
  COVE_AGENT_TOKEN=$(openssl rand -hex 32) ${prog} --listen 127.0.0.1:9990 --workdir /srv/app
  ${prog} --token-file /run/cove/token      # kill -HUP <pid> after rewriting the file
`;
}

/** Parses `HOST:PORT` (`[::1]:9990` for IPv6; a bare port means all interfaces). */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  const portText = match?.[3];
  if (!match || portText === undefined) throw usage(`invalid --listen '${value}': expected HOST:PORT`);
  const port = Number(portText);
  if (port > 65535) throw usage(`invalid --listen '${value}': port out of range`);
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/**
 * The agent's configuration from `args` (the arguments after the program name) and `env`, or `help` when
 * asked for. Throws an `AgentExitError` (exit 2) for a usage error.
 */
export function parseAgentArgs(args: readonly string[], env: NodeJS.ProcessEnv): { help: true } | { help: false; config: AgentConfig } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    const e = err as Error & { code?: string };
    const option = /'(-[^' ]*)/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) throw usage(`unknown option '${option}' (see --help)`);
    throw usage(`${e.message} (see --help)`);
  }
  const { values, tokens } = parsed;
  if (values.help) return { help: true };
  if (values.token !== undefined) {
    throw usage('--token is not accepted: command lines are visible to every user; use COVE_AGENT_TOKEN or --token-file');
  }

  // `--allow-origin a b` takes every value up to the next option, as it always has; any other operand is an error.
  const flagOrigins: string[] = [];
  let inOrigins = false;
  for (const token of tokens) {
    if (token.kind === 'option') {
      inOrigins = token.name === 'allow-origin';
      if (inOrigins && token.value !== undefined) flagOrigins.push(token.value);
    } else if (token.kind === 'positional' && inOrigins) {
      flagOrigins.push(token.value);
    } else if (token.kind === 'positional') {
      throw usage(`unexpected argument '${token.value}' (see --help)`);
    } else {
      inOrigins = false;
    }
  }
  const envOrigins = (env.COVE_AGENT_ALLOW_ORIGIN ?? '').split(/[\s,]+/).filter((o) => o !== '');

  const listen = values.listen ?? nonEmpty(env.COVE_AGENT_LISTEN) ?? SERVER_DEFAULTS.agentListen;
  const envFile = values['env-file'] ?? nonEmpty(env.COVE_AGENT_ENV_FILE);
  const user = values.user ?? nonEmpty(env.COVE_AGENT_USER);
  const stateDir = values['state-dir'] ?? nonEmpty(env.COVE_AGENT_STATE_DIR);
  if (user !== undefined && !/^[^:\s]+(:[^:\s]+)?$/.test(user))
    throw usage(`invalid --user '${user}': expected NAME, UID, NAME:GROUP or UID:GID`);
  const tokenFile = values['token-file'] ?? nonEmpty(env.COVE_AGENT_TOKEN_FILE);
  let token: TokenSource;
  if (tokenFile !== undefined) token = { kind: 'file', path: path.resolve(tokenFile) };
  else if (nonEmpty(env.COVE_AGENT_TOKEN) !== undefined) token = { kind: 'env', value: env.COVE_AGENT_TOKEN as string };
  else throw usage('no token: set COVE_AGENT_TOKEN or pass --token-file PATH');

  return {
    help: false,
    config: {
      listen,
      ...parseListen(listen),
      workdir: path.resolve(values.workdir ?? nonEmpty(env.COVE_AGENT_WORKDIR) ?? SERVER_DEFAULTS.agentWorkdir),
      token,
      allowedOrigins: flagOrigins.length > 0 ? flagOrigins : envOrigins,
      ...(envFile !== undefined ? { envFile: path.resolve(envFile) } : {}),
      ...(user !== undefined ? { user } : {}),
      ...(stateDir !== undefined ? { stateDir: path.resolve(stateDir) } : {}),
    },
  };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    tokens: true,
    options: {
      listen: { type: 'string' },
      workdir: { type: 'string' },
      'token-file': { type: 'string' },
      'env-file': { type: 'string' },
      user: { type: 'string' },
      'state-dir': { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      // Only to refuse it with a reason: a token on argv is readable by every user in /proc.
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
