import { once } from 'node:events';
import { CliError } from './cli-error.js';
import { EXIT } from './exit-codes.js';
import { toCliError } from './to-cli-error.js';

/** Writes to a local stream, waiting for `drain` when it is full (a slow pipe slows the download, never fills memory). */
export async function writeTo(stream: NodeJS.WritableStream, data: Uint8Array | string): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

/**
 * `exec` and `shell` exit with the remote command's code, so their own
 * failures exit 255 (as ssh's do); usage errors stay 2.
 */
export function asRemoteFailure(err: unknown): CliError {
  const e = toCliError(err);
  if (e.exitCode === EXIT.usage || e.exitCode === EXIT.interrupted) return e;
  return new CliError(e.message, EXIT.remoteFailure);
}

/** Local signals forwarded to a remote task or terminal, and the handlers to remove afterwards. */
export function onSignals(signals: readonly NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void {
  const bound = signals.map((sig) => {
    const fn = () => handler(sig);
    process.on(sig, fn);
    return [sig, fn] as const;
  });
  return () => {
    for (const [sig, fn] of bound) process.off(sig, fn);
  };
}
