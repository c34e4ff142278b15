import { AppError, ERROR_STATUS, type ErrorCode } from '@cove/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hostFault } from './fault-errors.js';

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
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `cmd/1` → `cmd[1]`, `env/A` → `env.A`: the parameter as a client spells it. */
function parameterName(instancePath: string): string {
  return instancePath
    .replace(/^\//, '')
    .split('/')
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('')
    .replaceAll('~1', '/')
    .replaceAll('~0', '~');
}

/**
 * A failed union (`anyOf`) reports every branch's failure, then its own. The
 * message says what was expected: a branch of the right type that failed
 * deeper (`cmd: ["echo", 1]`) speaks for itself; a wrong literal lists the
 * allowed ones; a wrong type lists the branches' types (`must be array or string`).
 */
function describeUnion(issues: ValidationIssue[], union: ValidationIssue): { path: string; detail: string } {
  const path = union.instancePath ?? '';
  const branches = issues.filter((i) => i.keyword !== 'anyOf' && (i.instancePath ?? '').startsWith(path));
  const typed = branches.filter((i) => i.keyword !== 'type' || (i.instancePath ?? '') !== path);
  if (typed.length > 0 && typed.every((i) => i.keyword === 'const')) {
    return { path, detail: `must be one of ${typed.map((i) => String(i.params?.allowedValue)).join(', ')}` };
  }
  const deeper = typed[0];
  if (deeper) return { path: deeper.instancePath ?? '', detail: deeper.message ?? 'is invalid' };
  const types = [...new Set(branches.map((i) => String(i.params?.type)))];
  return { path, detail: `must be ${types.join(' or ')}` };
}

/** Turns a schema validation failure into a message that names the parameter. */
export function describeValidation(issues: ValidationIssue[], context: string | undefined): string {
  const first = issues[0];
  if (!first) return 'invalid request';
  const missing = first.params?.missingProperty;
  if (typeof missing === 'string') return `missing required parameter '${missing}'`;
  const additional = first.params?.additionalProperty;
  if (typeof additional === 'string') return `unknown parameter '${additional}'`;
  if (!first.instancePath && context === 'body' && first.keyword === 'type') return 'request body must be a JSON object';
  const union = issues.findLast((i) => i.keyword === 'anyOf');
  const allowed = first.params?.allowedValues;
  const { path, detail } = union
    ? describeUnion(issues, union)
    : {
        path: first.instancePath ?? '',
        detail: Array.isArray(allowed) ? `must be one of ${allowed.join(', ')}` : (first.message ?? 'is invalid'),
      };
  const name = parameterName(path);
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
  return hostFault(err);
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
