import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CommandServer } from './command-server.js';
import { NS_HELPER } from './ns-helper-path.js';
import { span } from './trace.js';

/** Host tools must not see the control plane's secrets: their environment is this. */
const COMMAND_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

let server: CommandServer | undefined;

/**
 * The helper process that runs the commands (command-server.ts), unless COVE_SANDBOX_SPAWN=direct or the helper
 * is not built; undefined: spawned from this process.
 */
function commandServer(): CommandServer | undefined {
  if (process.env.COVE_SANDBOX_SPAWN === 'direct') return undefined;
  if (server === undefined && existsSync(NS_HELPER)) server = new CommandServer(NS_HELPER, COMMAND_ENV);
  return server;
}

/** Runs a command with its output appended to `file` (runc create's log); resolves to its exit code. */
export async function runLogged(argv: readonly string[], file: string, timeoutMs = 60_000): Promise<number | undefined> {
  const served = await commandServer()?.run({ argv, timeoutMs, outputFile: file });
  return served?.code;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    super(
      `${argv.slice(0, 3).join(' ')} failed (${result.code}): ${result.stderr.trim().slice(0, 500) || result.stdout.trim().slice(0, 500)}`,
    );
  }
}

export interface RunOptions {
  /** Text written to the command's stdin. */
  input?: string;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  timeoutMs?: number;
}

/**
 * Runs a host tool (runc, ip, nft, mount…) without a shell, so that no
 * workspace-provided string is ever interpreted. The environment is minimal:
 * host tools must not see the control plane's secrets.
 */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('empty command');
  return span(`exec ${path.basename(cmd)} ${verb(args)}`, async () => {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const served = await commandServer()?.run({ argv, input: options.input, timeoutMs });
    if (served && served.code === 127 && served.stderr.startsWith(`ns-helper serve: exec ${cmd}:`)) {
      // As a spawn of a missing program fails.
      throw Object.assign(new Error(`spawn ${cmd} ENOENT`), { code: 'ENOENT', path: cmd });
    }
    const result = served ?? (await spawned(cmd, args, options, timeoutMs));
    if (result.code !== 0 && !options.allowFailure) throw new CommandError(argv, result);
    return result;
  });
}

/** The command's first word that is not an option (nor `--root`'s or `-n`'s value): what a span names. */
function verb(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--root' || a === '-n') i++;
    else if (!a.startsWith('-')) return a;
  }
  return args[0] ?? '';
}

function spawned(cmd: string, args: string[], options: RunOptions, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: COMMAND_ENV,
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
