import { randomBytes } from 'node:crypto';
import { WORKSPACE_ID_PATTERN } from '@cove/protocol';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ID_RE = new RegExp(WORKSPACE_ID_PATTERN);

/** `ws_` + 12 lowercase letters and digits (62 bits of randomness). */
export function newWorkspaceId(): string {
  const bytes = randomBytes(12);
  let id = 'ws_';
  // 256 % 36 leaves a slight bias, harmless for identifiers that are not secrets.
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length];
  return id;
}

export function isWorkspaceId(value: string): boolean {
  return ID_RE.test(value);
}

/** The agent's raw bearer token: 256 random bits in hex, as the reference describes. */
export function newRawToken(): string {
  return randomBytes(32).toString('hex');
}
