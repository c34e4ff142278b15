import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Where the agent's bearer token comes from. Never argv: argv is world-readable in /proc. */
export type TokenSource = { kind: 'env'; value: string } | { kind: 'file'; path: string };

/**
 * Holds the agent's raw bearer token and checks presented tokens against it
 * in constant time. A file-backed token is re-read by `reload()` (SIGHUP):
 * from then on only the new token is accepted.
 */
export class TokenStore {
  #digest: Buffer;
  #generation = 0;
  readonly source: TokenSource;

  constructor(source: TokenSource) {
    this.source = source;
    this.#digest = digest(readToken(source));
  }

  /** Re-reads a file-backed token. Throws (keeping the old token) if the file is unusable. */
  reload(): void {
    this.#digest = digest(readToken(this.source));
    this.#generation++;
  }

  /** Replaces the token in memory (used by embedders and tests). */
  set(token: string): void {
    this.#digest = digest(validate(token, 'token'));
    this.#generation++;
  }

  /** Changes whenever the token does: a caller remembering a verified token knows when to verify again. */
  get generation(): number {
    return this.#generation;
  }

  /** Constant-time check of a presented token. */
  verify(presented: string | undefined): boolean {
    if (presented === undefined || presented.length === 0) return false;
    // Comparing fixed-size digests keeps the time independent of length and content.
    return timingSafeEqual(digest(presented), this.#digest);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function readToken(source: TokenSource): string {
  if (source.kind === 'env') return validate(source.value, 'COVE_AGENT_TOKEN');
  let text: string;
  try {
    text = readFileSync(source.path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read token file ${source.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return validate(text.trim(), `token file ${source.path}`);
}

function validate(token: string, origin: string): string {
  if (token.length === 0) throw new Error(`${origin} is empty`);
  if (/\s/.test(token)) throw new Error(`${origin} contains white space`);
  return token;
}
