import { AbortError, APIError, ConnectionError, TimeoutError } from '@cove/sdk';
import { CliError } from './cli-error.js';

/**
 * Exit codes scripts can rely on. `exec` and `shell` exit with the remote
 * command's code instead, and with 255 when cove itself fails (as ssh does),
 * so a remote `exit 1` is never mistaken for a cove error.
 */
export const EXIT = {
  ok: 0,
  /** The server refused or failed the request, or a local file operation failed. */
  error: 1,
  /** Bad arguments, or no URL/credentials configured. */
  usage: 2,
  /** The control plane or gateway could not be reached or did not answer in time. */
  unreachable: 3,
  /** `exec`/`shell`: cove failed before or while running the remote command. */
  remoteFailure: 255,
  /** `exec`/`shell`: interrupted locally (128 + SIGINT). */
  interrupted: 130,
} as const;

/** Turns whatever a command threw into a one-line `CliError`. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof APIError) {
    let message = err.message;
    if (err.status === 403 && /public_access/.test(message)) {
      message += ' — turn it on with `cove network set WS --public-access`';
    }
    if (err.status === 401 && /client/i.test(message)) message += ' — check --client-id/--client-secret';
    return new CliError(`${message} (${err.status} ${err.code})`, EXIT.error);
  }
  if (err instanceof ConnectionError || err instanceof TimeoutError) return new CliError(err.message, EXIT.unreachable);
  if (err instanceof AbortError) return new CliError('interrupted', EXIT.interrupted);
  const e = err as NodeJS.ErrnoException;
  if (e?.code && e.syscall) return new CliError(`${e.path ?? ''}${e.path ? ': ' : ''}${e.message}`, EXIT.error);
  return new CliError(err instanceof Error ? err.message : String(err), EXIT.error);
}
