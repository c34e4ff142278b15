import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CredentialRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/** What `credentials create` hands out once; only the hash of the secret is kept. */
export interface IssuedCredential {
  clientId: string;
  clientSecret: string;
  owner: string;
  label: string;
}

const CLIENT_ID_PATTERN = /^cid_[a-f0-9]{24}$/;
/** Largest header value worth looking at; anything longer cannot be a credential of ours. */
const MAX_HEADER_LENGTH = 256;
// Verifying against a fixed dummy hash when the id is unknown keeps the answer's timing the same.
const DUMMY_HASH = hashSecret(randomBytes(32).toString('base64url'));

/**
 * Secrets are 256 random bits, so a single SHA-256 is as strong as a slow
 * KDF here (there is nothing to brute-force) and keeps authentication cheap
 * on every request.
 */
export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret));
  const stored = Buffer.from(storedHash);
  if (presented.length !== stored.length) return false;
  return timingSafeEqual(presented, stored);
}

/** Creates and stores a credential; the secret is returned once and never stored. */
export async function createCredential(store: Store, owner: string, label = ''): Promise<IssuedCredential> {
  const clientId = `cid_${randomBytes(12).toString('hex')}`;
  const clientSecret = `cs_${randomBytes(32).toString('base64url')}`;
  const record: CredentialRecord = {
    clientId,
    secretHash: hashSecret(clientSecret),
    owner,
    label,
    createdAt: new Date().toISOString(),
    revokedAt: null,
  };
  await store.insertCredential(record);
  return { clientId, clientSecret, owner, label };
}

/** The owner a client id + secret pair authenticates as, or undefined (unknown, revoked or wrong secret). */
export async function authenticate(store: Store, clientId: string | undefined, secret: string | undefined): Promise<string | undefined> {
  if (!clientId || !secret || clientId.length > MAX_HEADER_LENGTH || secret.length > MAX_HEADER_LENGTH) return undefined;
  const record = CLIENT_ID_PATTERN.test(clientId) ? await store.getCredential(clientId) : undefined;
  const ok = secretMatches(secret, record?.secretHash ?? DUMMY_HASH);
  if (!ok || !record || record.revokedAt !== null) return undefined;
  return record.owner;
}

/** Owner names: what `--owner` accepts. */
export const OWNER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
