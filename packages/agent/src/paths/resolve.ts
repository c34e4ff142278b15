import path from 'node:path';
import { badParam } from '@cove/protocol';

/** Longest path the agent accepts (Linux PATH_MAX). */
export const MAX_PATH_LENGTH = 4096;

/**
 * Turns a path from the wire into an absolute, normalised path.
 *
 * Absolute paths are taken as they are (the API addresses the whole
 * workspace file system); relative ones are resolved against the agent's
 * working directory. `.`, `..`, repeated and trailing slashes are folded, so
 * `/app//src/../x/` becomes `/app/x`. NUL bytes and over-long paths are
 * refused with a 400 naming the parameter.
 */
export function resolveWirePath(input: unknown, workdir: string, param = 'path'): string {
  if (typeof input !== 'string') throw badParam(param, 'must be a string');
  if (input.length === 0) throw badParam(param, 'must not be empty');
  if (input.includes('\0')) throw badParam(param, 'must not contain NUL bytes');
  if (input.length > MAX_PATH_LENGTH) throw badParam(param, `longer than ${MAX_PATH_LENGTH} characters`);
  return path.resolve(workdir, input);
}

/** Like `resolveWirePath`, with a default for an absent parameter. */
export function resolveOptionalPath(input: unknown, fallback: string, workdir: string, param = 'path'): string {
  if (input === undefined || input === '') return resolveWirePath(fallback, workdir, param);
  return resolveWirePath(input, workdir, param);
}
