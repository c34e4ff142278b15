import { AppError } from '@cove/protocol';

/**
 * Maps a Node.js system error (ENOENT, EACCES, ...) to the API's error
 * model, naming the path it concerns. Anything unrecognised is returned
 * unchanged, so the error handler answers 500 and logs it.
 */
export function fromSystemError(err: unknown, subject: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new AppError('not_found', `not found: ${subject}`);
    case 'ENOTDIR':
      return new AppError('bad_request', `not a directory: ${subject}`);
    case 'EISDIR':
      return new AppError('bad_request', `is a directory: ${subject}`);
    case 'EEXIST':
      return new AppError('already_exists', `already exists: ${subject}`);
    case 'ENOTEMPTY':
      return new AppError('conflict', `directory not empty: ${subject}`);
    case 'EACCES':
    case 'EPERM':
      return new AppError('forbidden', `permission denied: ${subject}`);
    case 'EROFS':
      return new AppError('forbidden', `read-only file system: ${subject}`);
    case 'ELOOP':
      return new AppError('bad_request', `too many levels of symbolic links: ${subject}`);
    case 'ENAMETOOLONG':
      return new AppError('bad_request', `name too long: ${subject}`);
    case 'EFBIG':
    case 'ENOSPC':
    case 'EDQUOT':
      return new AppError('payload_too_large', `no space left for ${subject}`);
    case 'EXDEV':
      return new AppError('bad_request', `cannot move across file systems: ${subject}`);
    case 'EINVAL':
      return new AppError('bad_request', `invalid argument: ${subject}`);
    default:
      return err;
  }
}

/** Runs `fn`, translating system errors about `subject` into API errors. */
export async function withPath<T>(subject: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromSystemError(err, subject);
  }
}
