import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';

/** The control plane's Fastify instance (TypeBox-typed). */
export type ApiApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The account the request's credentials belong to (set by the auth hook). */
    coveOwner: string;
  }
  interface FastifyContextConfig {
    /** Served without credentials (`/health`, `/openapi.json`). */
    public?: boolean;
  }
}

/** The authenticated owner of a request. */
export function ownerOf(request: { coveOwner: string }): string {
  return request.coveOwner;
}
