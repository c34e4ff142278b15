import swagger, { type SwaggerOptions } from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import { installBodyParsers } from './body-parsers.js';
import { answerClientError } from './client-errors.js';
import { installErrorHandler, sendError } from './error-handler.js';
import { installQueryBooleans } from './query-booleans.js';
import { installRequestIds, requestIdOf } from './request-ids.js';
import { RouteTable } from './route-table.js';
import { buildPartValidators } from './validators.js';

/** A Fastify instance typed by TypeBox schemas: what every Cove HTTP server is built on. */
export type JsonApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface JsonAppOptions {
  logger: Logger;
  /** Largest JSON request body, in bytes. */
  bodyLimit: number;
  /** Longest path parameter. */
  maxParamLength: number;
  /** The OpenAPI document's title, version and security schemes. */
  openapi: {
    title: string;
    version: string;
    securitySchemes: Record<string, { type: string; [key: string]: unknown }>;
    security: Array<Record<string, string[]>>;
  };
}

/**
 * The HTTP plumbing every Cove server shares, so they all answer alike:
 * TypeBox validation (strict for JSON bodies, coercing for query strings and
 * path parameters, with 1/0 booleans), lenient JSON bodies, the one error
 * model, 404 vs 405, an `x-request-id` on every answer and in every log
 * line, a debug line per request, and an OpenAPI 3.1 document at
 * `GET /openapi.json` generated from the route schemas. Response schemas
 * document; bodies are written as they are.
 */
export async function createJsonApp(options: JsonAppOptions): Promise<JsonApp> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    routerOptions: { maxParamLength: options.maxParamLength },
    // Requests are logged at debug level by the onResponse hook below, never at info.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    // The caller's id when it is a sane one (see request-ids.ts), logged as `reqId` with every line.
    requestIdHeader: false,
    genReqId: requestIdOf,
    clientErrorHandler: answerClientError,
    // Fastify types the factory as @fastify/ajv-compiler's (a compile taking a bare schema); it calls it with
    // the route definition, which is what buildPartValidators takes to tell bodies from query strings.
    schemaController: { compilersFactory: { buildValidator: buildPartValidators as never } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as JsonApp;

  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  const routes = new RouteTable();
  routes.attach(app);
  installRequestIds(app);
  installBodyParsers(app, options.bodyLimit);
  installErrorHandler(app);
  installQueryBooleans(app);
  app.setNotFoundHandler((request, reply) => sendError(reply, routes.notFound(request.method, request.url)));
  // A callback hook, not an async one: it runs on every answer, and a promise per request is measurable on
  // the small reads (bench/suites/files-read.mjs).
  app.addHook('onResponse', (request, reply, done) => {
    if ((request.log as Logger).isLevelEnabled('debug')) {
      request.log.debug({ req: request.raw, res: reply.raw, ms: reply.elapsedTime }, 'request');
    }
    done();
  });

  const { title, version, securitySchemes, security } = options.openapi;
  // The plugin's own option types are stricter than the JSON it writes; the shapes above are valid OpenAPI.
  await app.register(swagger, {
    openapi: { openapi: '3.1.0', info: { title, version }, components: { securitySchemes }, security },
  } as unknown as SwaggerOptions);
  return app;
}

/** `GET /openapi.json`; register after every route so the document lists them all. */
export function serveOpenApi(app: JsonApp, config: Record<string, unknown> = {}): void {
  app.get('/openapi.json', { config, schema: { hide: true } }, async () => app.swagger());
}

/** The URL a server listens on, for people (`0.0.0.0` shown as `127.0.0.1`, IPv6 bracketed). */
export function listenUrl(app: JsonApp, host: string, fallbackPort: number): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : fallbackPort;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}
