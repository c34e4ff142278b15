import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Route schemas are checked against the JSON Schema meta-schema only when `COVE_CHECK_SCHEMAS=1` (the test
 * suite sets it): the schemas are the project's own TypeBox definitions, and compiling the meta-schema (once per
 * Ajv instance) was over half of a fresh agent's first request (39 → 17 ms of CPU for its first /exec, which
 * every pooled workspace pays: bench/results/agent-start.md).
 */
const SHARED = {
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
  validateSchema: process.env.COVE_CHECK_SCHEMAS === '1',
} as const;

type Compile = FastifySchemaCompiler<unknown>;
type Validate = ReturnType<Compile>;

/**
 * The validator factory of every Cove server (Fastify's
 * `schemaController.compilersFactory.buildValidator`): one Ajv per HTTP part.
 *
 * JSON bodies carry their own types, so they are validated strictly: a
 * `"content": 12345` or a `"path": 42` is a 400, never a silent
 * `String(x)`. Query strings and path parameters carry only text, so there
 * the validator coerces (`?max_depth=3`, `?nested=true`; a single value
 * becomes a one-element array); `1`/`0`/`yes`/`no` booleans are mapped
 * before validation by `installQueryBooleans`.
 *
 * Each route's validator is compiled on its first request, not when the server starts: Ajv's code
 * generation for every route was the largest part of the agent's start (bench/results/agent-start.md),
 * and a workspace's agent serves a few routes only.
 */
export function buildPartValidators(externalSchemas: Record<string, unknown>): Compile {
  const pool = AjvCompiler();
  // The compiler is typed as taking a bare schema; Fastify hands it the route definition, as it expects.
  const external = externalSchemas as Parameters<typeof pool>[0];
  const strict = pool(external, { customOptions: { ...SHARED, coerceTypes: false } }) as unknown as Compile;
  const coercing = pool(external, { customOptions: { ...SHARED, coerceTypes: 'array' } }) as unknown as Compile;
  return (route) => lazy(() => (route.httpPart === 'body' ? strict(route) : coercing(route)) as Validate);
}

/** A validator compiled on its first call; Fastify reads a failed validation's `errors` from the function it was given. */
function lazy(compile: () => Validate): Validate {
  let compiled: Validate | undefined;
  const validate = ((data: unknown) => {
    compiled ??= compile();
    const result = compiled(data);
    validate.errors = compiled.errors ?? null;
    return result;
  }) as Validate;
  return validate;
}
