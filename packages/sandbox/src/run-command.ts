import { spawn } from 'node:child_process';

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
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
      timeout: options.timeoutMs ?? 60_000,
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
    child.once('close', (code, signal) => {
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (result.code !== 0 && !options.allowFailure) reject(new CommandError(argv, result));
      else resolve(result);
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
