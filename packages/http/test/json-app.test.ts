import { createJsonApp, type JsonApp } from '@cove/http';
import { Type } from '@sinclair/typebox';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The shared app factory alone, on one route whose body and query string declare the same fields.
const Fields = Type.Object({
  n: Type.Optional(Type.Integer()),
  b: Type.Optional(Type.Boolean()),
  list: Type.Optional(Type.Array(Type.String())),
  s: Type.Optional(Type.String()),
});

let app: JsonApp;
beforeAll(async () => {
  app = await createJsonApp({
    logger: pino({ level: 'silent' }),
    bodyLimit: 1024,
    maxParamLength: 100,
    openapi: { title: 't', version: '1', securitySchemes: {}, security: [] },
  });
  app.post('/echo', { schema: { body: Fields, querystring: Fields } }, async (request) => ({ body: request.body, query: request.query }));
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

const post = (body: unknown, query = '') =>
  app.inject({ method: 'POST', url: `/echo${query}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

describe('createJsonApp validation', () => {
  it('never coerces a JSON body', async () => {
    const cases: Array<[unknown, string]> = [
      [{ n: '5' }, "invalid parameter 'n': must be integer"],
      [{ b: 'true' }, "invalid parameter 'b': must be boolean"],
      [{ b: 1 }, "invalid parameter 'b': must be boolean"],
      [{ list: 'one' }, "invalid parameter 'list': must be array"],
      [{ s: 12345 }, "invalid parameter 's': must be string"],
      [{ s: true }, "invalid parameter 's': must be string"],
      [{ s: null }, "invalid parameter 's': must be string"],
      [[1, 2], 'request body must be a JSON object'],
    ];
    for (const [body, error] of cases) {
      const res = await post(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toEqual({ success: false, error, code: 'bad_request' });
    }
    expect((await post({ n: 5, b: false, list: ['a'], s: 'x' })).json().body).toEqual({ n: 5, b: false, list: ['a'], s: 'x' });
  });

  it('coerces query strings: numbers, booleans (1/0/yes/no/true/false) and single values as lists', async () => {
    for (const [flag, value] of [
      ['1', true],
      ['yes', true],
      ['true', true],
      ['0', false],
      ['no', false],
      ['false', false],
    ] as const) {
      const res = await post({}, `?n=7&b=${flag}&list=one&s=42`);
      expect(res.statusCode, flag).toBe(200);
      expect(res.json().query).toEqual({ n: 7, b: value, list: ['one'], s: '42' });
    }
    const bad = await post({}, '?n=seven');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ success: false, error: "invalid parameter 'n': must be integer", code: 'bad_request' });
  });

  it('takes an empty application/json body as {}', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(res.statusCode).toBe(200);
    expect(res.json().body).toEqual({});
  });

  it('answers every request with its x-request-id, 404s included', async () => {
    const echoed = await app.inject({ method: 'POST', url: '/echo', headers: { 'x-request-id': 'given' }, payload: '{}' });
    expect(echoed.headers['x-request-id']).toBe('given');
    const refused = await app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'x'.repeat(129) } });
    expect(refused.statusCode).toBe(404);
    expect(refused.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
