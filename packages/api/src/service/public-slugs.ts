import { createHash, randomBytes } from 'node:crypto';
import { AppError, PUBLIC_SLUG_PATTERN, RESERVED_SLUGS } from '@cove/protocol';

const SLUG_RE = new RegExp(PUBLIC_SLUG_PATTERN);
const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The preview domain, lower-cased: dot-separated DNS labels (`localhost`, `preview.example.com`). */
export function checkPreviewDomain(domain: string): string {
  const lower = domain.toLowerCase().replace(/\.$/, '');
  if (lower.length === 0 || lower.length > 200 || !lower.split('.').every((l) => LABEL_RE.test(l))) {
    throw new Error(`invalid preview domain '${domain}': expected a DNS name such as localhost or preview.example.com`);
  }
  return lower;
}

/** A chosen slug: the schema checked its grammar; reserved names are refused here. */
export function checkSlug(slug: string): string {
  if (!SLUG_RE.test(slug)) {
    throw new AppError('bad_request', "invalid parameter 'slug': expected a lowercase DNS label of 3-63 letters, digits and hyphens");
  }
  if (RESERVED_SLUGS.includes(slug)) throw new AppError('bad_request', `invalid parameter 'slug': '${slug}' is reserved`);
  return slug;
}

function randomWord(length: number): string {
  let word = '';
  // The slight modulo bias is harmless: slugs are names, not secrets (token ports have a token for that).
  for (const b of randomBytes(length)) word += ALPHABET[b % ALPHABET.length];
  return word;
}

/** `<port>-<6 characters of the workspace id>-<6 random>`: readable, and unlikely to collide. */
export function generateSlug(workspaceId: string, port: number): string {
  return `${port}-${workspaceId.replace(/^ws_/, '').slice(0, 6)}-${randomWord(6)}`;
}

/** A public port's token (256 random bits) and the SHA-256 hex the store keeps of it. */
export function newPortToken(): { token: string; sha256: string } {
  const token = `cpt_${randomBytes(32).toString('hex')}`;
  return { token, sha256: sha256Hex(token) };
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
