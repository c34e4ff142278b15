/**
 * Hostile request bodies, derived from a server's own OpenAPI document: for
 * every route with a JSON body, each declared property is sent with values
 * of every JSON type its schema does not accept, the other required
 * properties holding valid values. A server that validates bodies strictly
 * answers each with 400 and the error body, before any handler runs.
 */

interface JsonSchema {
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  minimum?: number;
  default?: unknown;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}

export interface HostileCase {
  method: string;
  /** The route's path with every parameter filled in. */
  path: string;
  /** `POST /files/write: content = 12345`, for failure messages. */
  label: string;
  body: Record<string, unknown>;
}

/** One value of each JSON type, as a client with the wrong idea would send it. */
const SAMPLES: Record<string, unknown> = {
  string: 'hostile',
  number: 12.5,
  integer: 12345,
  boolean: true,
  array: ['hostile'],
  object: { hostile: 1 },
  null: null,
};

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** The JSON types a schema accepts, or undefined when it accepts any. */
function acceptedTypes(schema: JsonSchema): Set<string> | undefined {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    const out = new Set<string>();
    for (const branch of branches) {
      const types = acceptedTypes(branch);
      if (!types) return undefined;
      for (const t of types) out.add(t);
    }
    return out;
  }
  if (schema.type !== undefined) {
    const types = new Set(Array.isArray(schema.type) ? schema.type : [schema.type]);
    // An integer is a number too.
    if (types.has('number')) types.add('integer');
    return types;
  }
  if (schema.const !== undefined) return new Set([jsonType(schema.const)]);
  return undefined;
}

/** A value the schema accepts (for the properties not under test). */
function validValue(schema: JsonSchema): unknown {
  if (schema.default !== undefined) return schema.default;
  const branch = (schema.anyOf ?? schema.oneOf)?.[0];
  if (branch) return validValue(branch);
  if (schema.const !== undefined) return schema.const;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return 'sample';
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => validValue(schema.items ?? {}));
    case 'object':
      return validObject(schema);
    default:
      return null;
  }
}

function validObject(schema: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of schema.required ?? []) out[name] = validValue(schema.properties?.[name] ?? {});
  return out;
}

/** The object schema of a route's JSON body (a union's object branch), if it has one. */
function bodySchema(operation: OpenApiDocument['paths'][string][string]): JsonSchema | undefined {
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  if (!schema) return undefined;
  const object = [schema, ...(schema.anyOf ?? schema.oneOf ?? [])].find((s) => s.properties);
  return object;
}

/** Every hostile body for every JSON-body route of `doc`; `param` fills path parameters. */
export function hostileCases(doc: OpenApiDocument, param: (name: string) => string = () => 'hostile-id'): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const [route, operations] of Object.entries(doc.paths)) {
    const path = route.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(param(name)));
    for (const [method, operation] of Object.entries(operations)) {
      const schema = bodySchema(operation);
      if (!schema?.properties) continue;
      for (const [name, property] of Object.entries(schema.properties)) {
        const accepted = acceptedTypes(property);
        if (!accepted) continue;
        for (const [type, value] of Object.entries(SAMPLES)) {
          if (accepted.has(type)) continue;
          cases.push({
            method: method.toUpperCase(),
            path,
            label: `${method.toUpperCase()} ${route}: ${name} = ${JSON.stringify(value)}`,
            body: { ...validObject(schema), [name]: value },
          });
        }
      }
    }
  }
  return cases;
}
