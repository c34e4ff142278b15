import { AppError } from '@cove/protocol';

/**
 * PostgreSQL errors that mean the database is gone for now (restarting, unreachable, shutting down), not that
 * the statement was wrong: SQLSTATE classes 08 (connection exception) and 57P (operator intervention), and the
 * socket errors and messages of `pg` when it cannot connect or loses its connection.
 */
const PG_GONE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const PG_GONE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i;

export function pgUnavailable(err: unknown): AppError | undefined {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  const gone =
    (typeof code === 'string' && (PG_GONE_CODES.has(code) || code.startsWith('08') || code.startsWith('57P'))) ||
    PG_GONE_MESSAGES.test(text);
  if (!gone) return undefined;
  return new AppError(
    'store_unavailable',
    `the store (PostgreSQL) cannot be reached (${typeof code === 'string' ? code : text.slice(0, 80)}); retry shortly`,
  );
}

/** A store call's failure as the caller should see it: an unreachable PostgreSQL is 503 `store_unavailable`. */
export function storeFault(err: unknown): never {
  throw pgUnavailable(err) ?? err;
}
