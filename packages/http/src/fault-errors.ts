import { AppError } from '@cove/protocol';

/** What a failed system call, command or store says when the storage under it is full. */
const FULL = /\b(ENOSPC|EDQUOT|SQLITE_FULL)\b|No space left on device|Disk quota exceeded|database or disk is full/i;

/**
 * A fault of the host rather than of the request, named for the caller instead of hidden behind a 500: a full
 * data volume (any ENOSPC on the way: a write, mkfs, a mount, the store) is 507 `insufficient_storage`.
 * Undefined for anything else.
 */
export function hostFault(err: unknown): AppError | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const { code, message } = err as { code?: unknown; message?: unknown };
  const text = `${typeof code === 'string' ? code : ''} ${typeof message === 'string' ? message : ''}`;
  if (FULL.test(text)) {
    return new AppError(
      'insufficient_storage',
      'no space left on device: the storage this request needed is full; retry once space is freed',
    );
  }
  return undefined;
}
