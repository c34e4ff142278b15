import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '@cove/protocol';
import type { Store } from '../store/store.js';

/** The console's session cookie. */
export const CONSOLE_COOKIE = 'cove_console';
/**
 * The header every call of the console's own code carries. A page on another site cannot send a custom
 * header to the control plane without a CORS preflight, which the control plane never grants: with the
 * SameSite=Strict cookie, this is the console's CSRF protection.
 */
export const CONSOLE_HEADER = 'x-cove-console';

export interface ConsoleSessionOptions {
  /** A session unused this long ends (default 30 minutes). */
  idleTimeoutMs?: number;
  /** A session ends this long after sign-in, used or not (default 12 hours). */
  absoluteTimeoutMs?: number;
  /** Most sessions kept at once; the oldest go first (default 10 000). */
  maxSessions?: number;
}

export interface ConsoleSession {
  owner: string;
  clientId: string;
  createdAt: number;
  lastSeenAt: number;
}

/** What a request's session cookie comes to. */
export type SessionLookup = { session: ConsoleSession } | { error: 'missing' | 'unknown' | 'expired' | 'revoked' };

/** The smallest part of a request the console's checks read (a Fastify request fits). */
export interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
}

/** The session cookie's value in a Cookie header (the first one of that name), or undefined. */
export function sessionCookie(request: RequestLike): string | undefined {
  const header = request.headers.cookie;
  const raw = Array.isArray(header) ? header.join('; ') : (header ?? '');
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === CONSOLE_COOKIE) {
      const value = part.slice(eq + 1).trim();
      // Ours are 43 base64url characters; anything else cannot be a session.
      return /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : '';
    }
  }
  return undefined;
}

/**
 * Refuses requests a page on another origin could have sent: a foreign `Origin`, or a browser's
 * `Sec-Fetch-Site: cross-site`. Requests without either (curl, tests) pass: they carry no ambient cookie
 * a browser would have attached for someone else.
 */
export function checkSameOrigin(request: RequestLike): void {
  const origin = first(request.headers.origin);
  const host = first(request.headers.host);
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || originHost !== host) throw new AppError('forbidden', 'cross-origin console request refused');
  }
  if (first(request.headers['sec-fetch-site']) === 'cross-site') throw new AppError('forbidden', 'cross-site console request refused');
}

/**
 * The console's sign-in sessions, in memory: a restart of the control plane signs everyone out (the
 * console then shows its sign-in form). The cookie holds 256 random bits; the table is keyed by their
 * SHA-256, so the table itself holds nothing a cookie could be made from.
 */
export class ConsoleSessions {
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly #max: number;
  readonly #sessions = new Map<string, ConsoleSession>();

  constructor(options: ConsoleSessionOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30 * 60_000;
    this.absoluteTimeoutMs = options.absoluteTimeoutMs ?? 12 * 60 * 60_000;
    this.#max = options.maxSessions ?? 10_000;
  }

  /** Starts a session; returns the cookie value (shown once, never stored). */
  create(owner: string, clientId: string): string {
    this.#sweep();
    // Map keeps insertion order: the first key is the oldest session.
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    this.#sessions.set(keyOf(id), { owner, clientId, createdAt: now, lastSeenAt: now });
    return id;
  }

  /** The live session of a cookie value (and marks it used), or why there is none. */
  lookup(id: string | undefined, touch = true): SessionLookup {
    if (id === undefined || id === '') return { error: id === undefined ? 'missing' : 'unknown' };
    const key = keyOf(id);
    const session = this.#sessions.get(key);
    if (!session) return { error: 'unknown' };
    const now = Date.now();
    if (this.#expired(session, now)) {
      this.#sessions.delete(key);
      return { error: 'expired' };
    }
    if (touch) session.lastSeenAt = now;
    return { session };
  }

  /** Ends a session (sign-out); unknown ids are ignored. */
  end(id: string | undefined): void {
    if (id) this.#sessions.delete(keyOf(id));
  }

  /** When a session ends if it stays unused (ms since the epoch). */
  expiresAt(session: ConsoleSession): number {
    return Math.min(session.lastSeenAt + this.idleTimeoutMs, session.createdAt + this.absoluteTimeoutMs);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * What the auth hook asks about requests without client credentials: the owner of a console call (its
   * header, a same-origin request, a live session whose credential is still valid), an error for a console
   * call that fails one of those, or undefined for anything that is not a console call.
   */
  authenticator(store: Store): (request: RequestLike) => Promise<string | AppError | undefined> {
    return async (request) => {
      if (request.headers[CONSOLE_HEADER] === undefined) return undefined;
      try {
        checkSameOrigin(request);
      } catch (err) {
        return err as AppError;
      }
      const cookie = sessionCookie(request);
      const found = this.lookup(cookie);
      if ('error' in found) return new AppError('unauthorized', sessionMessage(found.error));
      // A revoked credential ends its console sessions at once, as it ends its API access.
      const credential = await store.getCredential(found.session.clientId);
      if (!credential || credential.revokedAt !== null) {
        this.end(cookie);
        return new AppError('unauthorized', sessionMessage('revoked'));
      }
      return found.session.owner;
    };
  }

  #expired(session: ConsoleSession, now: number): boolean {
    return now >= this.expiresAt(session);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, session] of this.#sessions) if (this.#expired(session, now)) this.#sessions.delete(key);
  }
}

/** What a signed-out console is told. */
export function sessionMessage(reason: 'missing' | 'unknown' | 'expired' | 'revoked'): string {
  switch (reason) {
    case 'missing':
      return 'not signed in to the console: sign in with a client id and secret';
    case 'expired':
      return 'console session expired: sign in again';
    case 'revoked':
      return 'console session ended: its client credential was revoked';
    default:
      return 'unknown console session (signed out, or the control plane restarted): sign in again';
  }
}

function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
