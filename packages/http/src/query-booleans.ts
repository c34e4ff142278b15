import type { FastifyInstance } from 'fastify';

const TRUE = new Set(['1', 'yes', 'on']);
const FALSE = new Set(['0', 'no', 'off']);

/**
 * Query booleans also arrive as `1`/`0` (curl users, form-minded clients),
 * while the validator coerces only `true`/`false`. For every route, the
 * boolean parameters of its querystring schema are mapped before validation.
 */
export function installQueryBooleans(app: FastifyInstance): void {
  const booleansOf = new WeakMap<object, readonly string[]>();
  // A callback hook (every request passes here; a promise each is measurable on small reads).
  app.addHook('preValidation', (request, _reply, done) => {
    const schema = request.routeOptions.schema?.querystring as { properties?: Record<string, { type?: unknown }> } | undefined;
    const query = request.query as Record<string, unknown> | null;
    if (!schema?.properties || !query) return done();
    let names = booleansOf.get(schema);
    if (!names) {
      names = Object.entries(schema.properties)
        .filter(([, prop]) => prop.type === 'boolean')
        .map(([name]) => name);
      booleansOf.set(schema, names);
    }
    for (const name of names) {
      const value = query[name];
      if (typeof value !== 'string') continue;
      const lower = value.toLowerCase();
      if (TRUE.has(lower)) query[name] = 'true';
      else if (FALSE.has(lower)) query[name] = 'false';
    }
    done();
  });
}
