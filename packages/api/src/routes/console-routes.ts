import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { assetsDir as builtAssets } from '@cove/console';
import { sendError } from '@cove/http';
import { AppError, ErrorResponse } from '@cove/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { authenticate } from '../auth/credentials.js';
import type { ApiApp } from '../http/app-types.js';
import {
  CONSOLE_COOKIE,
  CONSOLE_HEADER,
  type ConsoleSession,
  type ConsoleSessions,
  checkSameOrigin,
  type RequestLike,
  sessionCookie,
} from '../service/console-sessions.js';
import type { ControlContext } from '../service/context.js';

export interface ConsoleRouteOptions {
  /** Where the built console is (default: the `@cove/console` package's `dist/`). */
  assetsDir?: string;
}

const tags = ['console'];
/** Left out of the OpenAPI document (@fastify/swagger's `hide`): the app's files are not API. */
const HIDDEN = { hide: true, response: { 404: ErrorResponse, 503: ErrorResponse } };
const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse };

const SignInBody = Type.Object(
  {
    client_id: Type.String({ minLength: 1, maxLength: 256 }),
    client_secret: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);

const SessionResponse = Type.Object({
  signed_in: Type.Boolean(),
  owner: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String()),
  gateway_url: Type.Optional(Type.String()),
  expires_at: Type.Optional(Type.String({ description: 'when the session ends if it stays unused' })),
});

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The web console: its static files at `/console/`, and its session endpoints at `/console/api/session`.
 * Once signed in, the console calls the ordinary API with its session cookie and the `X-Cove-Console`
 * header (the auth hook asks `sessions.authenticator`), and reaches workspaces through the gateway with
 * the gateway tokens the API hands it, like any other client.
 */
export function consoleRoutes(app: ApiApp, ctx: ControlContext, sessions: ConsoleSessions, options: ConsoleRouteOptions = {}): void {
  const dir = options.assetsDir ?? builtAssets;
  const gatewayUrl = ctx.publicUrls.gatewayUrl.origin;
  const headers = securityHeaders(ctx.publicUrls.gatewayUrl);
  const describe = (session: ConsoleSession) => ({
    signed_in: true,
    owner: session.owner,
    client_id: session.clientId,
    gateway_url: gatewayUrl,
    expires_at: new Date(sessions.expiresAt(session)).toISOString(),
  });

  app.get(
    '/console/api/session',
    {
      config: { public: true },
      schema: {
        tags,
        summary: "The console's session: who is signed in (200 with signed_in false when no one is)",
        security: [],
        response: { 200: SessionResponse },
      },
    },
    async (request) => {
      const found = sessions.lookup(sessionCookie(request), false);
      if ('error' in found) return { signed_in: false };
      const credential = await ctx.store.getCredential(found.session.clientId);
      if (!credential || credential.revokedAt !== null) return { signed_in: false };
      return describe(found.session);
    },
  );

  app.post(
    '/console/api/session',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Sign in to the console with a client id and secret: answers with an HttpOnly session cookie',
        description: `Needs the \`${CONSOLE_HEADER}\` header and, from a browser, a same-origin request.`,
        security: [],
        body: SignInBody,
        response: { 200: SessionResponse, ...errors },
      },
    },
    async (request, reply) => {
      requireConsoleCall(request);
      const owner = await authenticate(ctx.store, request.body.client_id, request.body.client_secret);
      if (owner === undefined) return sendError(reply, new AppError('unauthorized', 'invalid client credentials'));
      // A new id at every sign-in: a cookie planted before it (session fixation) is worth nothing after.
      sessions.end(sessionCookie(request));
      const id = sessions.create(owner, request.body.client_id);
      const found = sessions.lookup(id, false);
      if ('error' in found) throw new AppError('internal_error', 'the new console session is missing');
      reply.header('set-cookie', cookie(id, Math.floor(sessions.absoluteTimeoutMs / 1000), isHttps(request)));
      reply.header('cache-control', 'no-store');
      return describe(found.session);
    },
  );

  app.delete(
    '/console/api/session',
    {
      config: { public: true },
      schema: { tags, summary: 'Sign out of the console', security: [], response: { 200: SessionResponse, ...errors } },
    },
    async (request, reply) => {
      requireConsoleCall(request);
      sessions.end(sessionCookie(request));
      reply.header('set-cookie', cookie('', 0, isHttps(request)));
      return { signed_in: false };
    },
  );

  // The app itself. Relative URLs in index.html need the trailing slash.
  app.get('/console', { config: { public: true }, schema: HIDDEN }, async (_request, reply) => reply.redirect('/console/', 302));
  const serve = async (name: string, reply: FastifyReply) => {
    const files = await listAssets(dir);
    if (files === undefined) throw new AppError('service_unavailable', 'the console is not built: run `npm run build`');
    if (!files.has(name)) throw new AppError('not_found', `no console file '${name}'`);
    const body = await readFile(path.join(dir, name));
    reply.headers(headers);
    reply.header('content-type', CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream');
    reply.header('cache-control', 'no-cache');
    return reply.send(body);
  };
  app.get('/console/', { config: { public: true }, schema: HIDDEN }, (_request, reply) => serve('index.html', reply));
  app.get<{ Params: { file: string } }>('/console/:file', { config: { public: true }, schema: HIDDEN }, (request, reply) =>
    serve(request.params.file, reply),
  );
}

/** The session endpoints that change state take the console's header and a same-origin request. */
function requireConsoleCall(request: RequestLike): void {
  if (request.headers[CONSOLE_HEADER] === undefined) throw new AppError('forbidden', `missing ${CONSOLE_HEADER} header`);
  checkSameOrigin(request);
}

/**
 * Secure when the page is https: the server's own TLS, or the browser's Origin (TLS ended by a proxy in
 * front), which is what decides whether the browser would send the cookie back over plain http.
 */
function isHttps(request: RequestLike & { protocol: string }): boolean {
  const origin = request.headers.origin;
  return request.protocol === 'https' || (typeof origin === 'string' && origin.startsWith('https://'));
}

function cookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${CONSOLE_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

/** The console's page may talk to this origin and to the gateway (HTTP and WebSocket), nothing else. */
function securityHeaders(gateway: URL): Record<string, string> {
  const ws = `${gateway.protocol === 'https:' ? 'wss' : 'ws'}://${gateway.host}`;
  return {
    'content-security-policy': [
      "default-src 'self'",
      `connect-src 'self' ${gateway.origin} ${ws}`,
      // xterm.js writes its theme into a <style> element it creates.
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

/**
 * The built files' names, undefined before the console is built. Only these are served: a request names a
 * file of this list or nothing, so no path it spells can reach elsewhere.
 */
async function listAssets(dir: string): Promise<Set<string> | undefined> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    return files.has('index.html') ? files : undefined;
  } catch {
    return undefined;
  }
}
