import { AbortError, APIError, ConnectionError, TimeoutError } from '@cove/sdk';
import { CliError } from './cli-error.js';
import { EXIT } from './exit-codes.js';

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
