import { AppError, ERROR_STATUS, type ErrorCode } from '@cove/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Generic code for a status that a framework error carries without one of ours. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  429: 'rate_limited',
  503: 'service_unavailable',
};

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns a schema validation failure into a message that names the parameter. */
export function describeValidation(issues: ValidationIssue[], context: string | undefined): string {
  const first = issues[0];
  if (!first) return 'invalid request';
  const missing = first.params?.missingProperty;
  if (typeof missing === 'string') return `missing required parameter '${missing}'`;
  const additional = first.params?.additionalProperty;
  if (typeof additional === 'string') return `unknown parameter '${additional}'`;
  const name = (first.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const allowed = first.params?.allowedValues;
  const detail = Array.isArray(allowed) ? `must be one of ${allowed.join(', ')}` : (first.message ?? 'is invalid');
  if (name) return `invalid parameter '${name}': ${detail}`;
  return `invalid ${context === 'body' ? 'request body' : (context ?? 'request')}: ${detail}`;
}

/** Normalises anything thrown by a route into an AppError (or undefined for a real fault). */
export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const fe = err as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    return new AppError('bad_request', describeValidation(fe.validation, fe.validationContext));
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('payload_too_large', 'request body too large');
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new AppError('unsupported_media_type', 'unsupported content type');
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 0;
  if (status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status] ?? 'bad_request';
    return new AppError(code, fe.message ?? 'bad request');
  }
  return undefined;
}

/** Writes an AppError as the JSON error body. */
export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.status).type('application/json; charset=utf-8').send(error.toBody());
}

/**
 * Installs the one error handler: client errors become 4xx bodies with a
 * code; anything else is logged and answered 500 without internals.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(err);
    if (appError) {
      if (appError.status >= 500) request.log.error({ err }, appError.message);
      return sendError(reply, appError);
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, new AppError('internal_error', 'internal server error'));
  });
}

export { ERROR_STATUS };
