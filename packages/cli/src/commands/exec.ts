import type { ExecOptions, Runtime } from '@cove/sdk';
import { APIError } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { runtimeFor, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { asRemoteFailure, onSignals, writeTo } from '../local-io.js';

interface ExecFlags {
  stdin: boolean;
  cwd?: string;
  env: string[];
  timeout?: string;
  shell?: boolean;
  direct?: boolean;
}

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`invalid --env '${pair}': expected NAME=VALUE`, EXIT.usage);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

function execOptions(flags: ExecFlags): ExecOptions {
  if (flags.shell && flags.direct) throw new CliError('--shell and --direct exclude each other', EXIT.usage);
  const options: ExecOptions = {};
  if (flags.shell) options.execMode = 'shell';
  if (flags.direct) options.execMode = 'direct';
  if (flags.cwd !== undefined) options.cwd = flags.cwd;
  if (flags.env.length > 0) options.env = parseEnv(flags.env);
  if (flags.timeout !== undefined) {
    const n = Number(flags.timeout);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`invalid --timeout '${flags.timeout}': expected whole seconds`, EXIT.usage);
    options.timeoutSeconds = n;
  }
  return options;
}

/**
 * Copies local stdin to the task's stdin, one request per chunk and in order
 * (the next chunk is read only once the previous one is written: local
 * backpressure), then closes the task's stdin at end of input.
 */
async function forwardStdin(rt: Runtime, taskId: string, input: NodeJS.ReadableStream, signal: AbortSignal): Promise<void> {
  try {
    for await (const chunk of input) {
      if (signal.aborted) return;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      await rt.exec.input(taskId, bytes, { signal });
    }
    if (!signal.aborted) await rt.exec.closeStdin(taskId, { signal });
  } catch (err) {
    // The task stopped reading (exited, or closed its stdin): what is left of the input has nowhere to go.
    if (signal.aborted || (err instanceof APIError && (err.status === 409 || err.status === 404))) return;
    process.stderr.write(`cove: stdin not forwarded: ${(err as Error).message}\n`);
  }
}

async function run(ref: string, argv: string[], flags: ExecFlags, command: Command): Promise<number> {
  const options = execOptions(flags);
  const s = session(command);
  const { rt } = await runtimeFor(s, ref);
  const controller = new AbortController();
  let taskId: string | undefined;
  const pending: NodeJS.Signals[] = [];
  let interrupts = 0;
  const send = (sig: NodeJS.Signals) => {
    if (taskId === undefined) pending.push(sig);
    else rt.exec.signal(taskId, sig).catch(() => {});
  };
  // Ctrl-C goes to the remote task; a third one in a row stops waiting for it (it may keep running).
  const removeSignals = onSignals(['SIGINT', 'SIGTERM', 'SIGHUP'], (sig) => {
    if (sig === 'SIGINT' && ++interrupts >= 3) {
      process.stderr.write(`\ncove: detached; task ${taskId ?? '(not started)'} may still be running\n`);
      controller.abort();
      return;
    }
    send(sig);
  });
  let stdinDone: Promise<void> | undefined;
  try {
    for await (const ev of rt.exec.stream(argv, options, { signal: controller.signal })) {
      switch (ev.event) {
        case 'task_id':
          taskId = ev.task_id;
          for (const sig of pending.splice(0)) send(sig);
          stdinDone = flags.stdin
            ? forwardStdin(rt, taskId, process.stdin, controller.signal)
            : rt.exec.closeStdin(taskId, { signal: controller.signal }).then(
                () => {},
                () => {},
              );
          break;
        case 'stdout':
          await writeTo(process.stdout, Buffer.from(ev.data, 'base64'));
          break;
        case 'stderr':
          await writeTo(process.stderr, Buffer.from(ev.data, 'base64'));
          break;
        case 'output':
          if (ev.stdout) await writeTo(process.stdout, ev.stdout);
          if (ev.stderr) await writeTo(process.stderr, ev.stderr);
          break;
        case 'exit': {
          if (ev.timed_out) process.stderr.write(`cove: the command timed out after ${options.timeoutSeconds ?? '?'} s\n`);
          const code = Number(ev.exit_code);
          return Number.isInteger(code) && code >= 0 && code <= 255 ? code : EXIT.remoteFailure;
        }
      }
    }
    if (controller.signal.aborted) return EXIT.interrupted;
    throw new CliError(`connection lost before the command finished${taskId ? ` (task ${taskId} may still be running)` : ''}`);
  } catch (err) {
    if (controller.signal.aborted) return EXIT.interrupted;
    throw err;
  } finally {
    removeSignals();
    controller.abort();
    // Local stdin may be a terminal or a pipe nobody closes: stop reading it so the process can end.
    if (flags.stdin) process.stdin.destroy();
    await stdinDone;
  }
}

/** `cove exec WS -- CMD…`: run a command in a workspace with its output streamed live. */
export function execCommand(): Command {
  return withConnection(new Command('exec'))
    .description('Run a command in a workspace: output streams live, stdin is forwarded, the exit code is the remote one')
    .argument('<workspace>', 'id or name')
    .argument('<command...>', 'the command and its arguments (put -- before them when they have options)')
    .option('-n, --no-stdin', 'do not forward local stdin (the command sees end of input)')
    .option('-w, --cwd <dir>', 'working directory in the workspace')
    .option(
      '-e, --env <NAME=VALUE>',
      'an environment variable to set (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--timeout <seconds>', 'kill the command after this many seconds')
    .option('--shell', 'run through /bin/sh -c (pipes, globs, &&)')
    .option('--direct', 'run the argv as given, never through a shell')
    .addHelpText(
      'after',
      `
Local stdin is forwarded to the command and closed at its end; Ctrl-C sends
SIGINT to the remote command (three times: stop waiting for it).

Exit status: the remote command's (128+N when a signal N ended it); 255 when
cove itself failed; 2 for bad arguments.

Examples:
  cove exec dev -- ls -la /root
  cove exec dev -- 'make test 2>&1 | tail -n 20'
  tar cz src | cove exec dev -- tar xz -C /app
  cove exec dev --cwd /app -e NODE_ENV=test -- npm test`,
    )
    .action(async (ref: string, argv: string[], flags: ExecFlags, command: Command) => {
      try {
        process.exitCode = await run(ref, argv, flags, command);
      } catch (err) {
        throw asRemoteFailure(err);
      }
    });
}
