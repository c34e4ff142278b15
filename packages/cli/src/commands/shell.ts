import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { runtimeFor, session } from '../client.js';
import { withConnection } from '../config.js';
import { asRemoteFailure, onSignals } from '../local-io.js';
import { SIGNAL_CODES } from '../signal-codes.js';

function size(): { cols: number; rows: number } {
  const out = process.stdout;
  return out.isTTY ? { cols: out.columns || 80, rows: out.rows || 24 } : { cols: 80, rows: 24 };
}

/**
 * Puts the local terminal in raw mode (keys go to the remote shell as they
 * are typed, Ctrl-C included) and returns the function that restores it.
 * The restore also runs at process exit, whatever the path out.
 */
function rawMode(): () => void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    try {
      stdin.setRawMode(false);
    } catch {
      // The terminal is gone (hung up): nothing to restore.
    }
  };
  process.on('exit', restore);
  return restore;
}

async function run(ref: string, argv: string[], command: Command): Promise<number> {
  const s = session(command);
  const { rt } = await runtimeFor(s, ref);
  const term = await rt.terminal.create({ ...(argv.length > 0 ? { cmd: argv } : {}), ...size() });
  const ws = rt.ws({ reconnect: false });
  let settle: (outcome: { code: number } | { error: Error }) => void = () => {};
  const outcome = new Promise<{ code: number } | { error: Error }>((resolve) => {
    settle = resolve;
  });
  ws.onTerminalOutput((id, data) => {
    if (id === term.id) process.stdout.write(data);
  });
  ws.onTerminalExit((id, code) => {
    if (id === term.id) settle({ code });
  });
  ws.onClose(() => settle({ error: new CliError('connection to the workspace lost') }));

  let restore: () => void = () => {};
  let removeSignals: () => void = () => {};
  const onResize = () => {
    if (ws.connected) ws.resizeTerminal(term.id, size().cols, size().rows);
  };
  const onInput = (data: Buffer) => {
    if (ws.connected) ws.writeTerminalInput(term.id, data);
  };
  // Piped input: its end is a Ctrl-D, as at a terminal.
  const onEnd = () => onInput(Buffer.from([4]));
  try {
    await ws.connect();
    restore = rawMode();
    // Signals that would kill us locally end the remote session cleanly instead (raw mode turns Ctrl-C into a byte).
    removeSignals = onSignals(['SIGTERM', 'SIGHUP', 'SIGINT'], (sig) => settle({ code: 128 + (SIGNAL_CODES[sig] ?? 1) }));
    process.stdout.on('resize', onResize);
    process.stdin.on('data', onInput);
    process.stdin.on('end', onEnd);
    process.stdin.resume();
    // The terminal may have been resized between create and now.
    onResize();
    const result = await outcome;
    if ('error' in result) throw result.error;
    return result.code;
  } finally {
    restore();
    removeSignals();
    process.stdout.off('resize', onResize);
    process.stdin.off('data', onInput);
    process.stdin.off('end', onEnd);
    process.stdin.pause();
    process.stdin.destroy();
    ws.close();
    // An exited session stays listed until closed: close it (and a live one, when we leave early).
    await rt.terminal.close(term.id).catch(() => {});
  }
}

/** `cove shell WS`: an interactive terminal in a workspace, like ssh. */
export function shellCommand(): Command {
  return withConnection(new Command('shell'))
    .alias('sh')
    .description('Open an interactive shell in a workspace (like ssh)')
    .argument('<workspace>', 'id or name')
    .argument('[command...]', "what to run instead of the user's shell (put -- before it)")
    .addHelpText(
      'after',
      `
Keys go to the remote terminal as typed (Ctrl-C and Ctrl-D included); the
window size follows yours. The exit status is the shell's; 255 when cove
failed.

Examples:
  cove shell dev
  cove shell dev -- htop
  cove shell dev -- bash -l`,
    )
    .action(async (ref: string, argv: string[], _flags: unknown, command: Command) => {
      try {
        process.exitCode = await run(ref, argv, command);
      } catch (err) {
        throw asRemoteFailure(err);
      }
    });
}
