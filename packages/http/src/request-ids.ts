import type { IncomingMessage } from 'node:http';
import { REQUEST_ID_HEADER, requestIdFrom } from '@cove/protocol';
import type { FastifyInstance } from 'fastify';

/** Fastify's `genReqId`: the caller's `x-request-id` when valid, else a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  return requestIdFrom(request.headers[REQUEST_ID_HEADER]);
}

/**
 * Every answer carries the request's id. It is set on the raw response as
 * the request arrives (the first hook), so answers Fastify writes, error
 * answers (authentication, validation, 404/405) and streams written by hand
 * after `reply.hijack()` all carry it alike.
 */
export function installRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader(REQUEST_ID_HEADER, request.id);
    done();
  });
}
