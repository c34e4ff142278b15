import { type TSchema, Type } from '@sinclair/typebox';

/** `{"success": true}`: the smallest successful answer. */
export const SuccessResponse = Type.Object({ success: Type.Literal(true) });

/** The error body every server writes (see errors.ts). */
export const ErrorResponse = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.String(),
    code: Type.String(),
  },
  { $id: 'ErrorResponse' },
);

/**
 * A boolean query parameter. Query strings carry text, so `true`/`false`
 * (and `1`/`0`) are accepted; the server's validator coerces them.
 */
export const QueryBool = (defaultValue: boolean, description: string) => Type.Boolean({ default: defaultValue, description });

/** An object whose extra keys are allowed (wire aliases, future fields). */
export const Open = <T extends Record<string, TSchema>>(props: T, description?: string) =>
  Type.Object(props, { additionalProperties: true, ...(description ? { description } : {}) });

/** `GET /health` */
export const HealthResponse = Type.Object({ status: Type.Literal('ok') });
