import { type Static, Type } from '@sinclair/typebox';
import { AppError } from './errors.js';

/**
 * A workspace's metadata on the wire (the official SDK's `metadata` resource): string keys and string values
 * the control plane stores and never interprets — labels for people and tools (`env=prod`, `owner=ci`).
 *
 * The bounds follow peers' practice: Stripe's metadata (50 keys, 40-character keys, 500-character values) and
 * Kubernetes labels (63-character names of letters, digits, `-_.` with a `/`-separated prefix) and annotations
 * (256 KiB in all). Keys are a little longer and values much longer than Stripe's, so a commit hash, a URL or a
 * short JSON text fits; the total bounds what one workspace row holds and what every answer carries.
 */
export const METADATA_LIMITS = {
  /** Keys one workspace may have. */
  maxKeys: 64,
  /** Characters in a key. */
  maxKeyLength: 128,
  /** Characters in a value. */
  maxValueLength: 2048,
  /** UTF-8 bytes of every key and value together. */
  maxTotalBytes: 16 * 1024,
} as const;

/** A key: a letter or digit, then letters, digits and `_ . - / :` (`app.kubernetes.io/name`, `team:backend`). */
export const METADATA_KEY_PATTERN = `^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,${METADATA_LIMITS.maxKeyLength - 1}}$`;
const KEY = new RegExp(METADATA_KEY_PATTERN);

const Value = Type.String({ maxLength: METADATA_LIMITS.maxValueLength });

/** The metadata itself: what `GET /workspace/:id/metadata` answers, as the official SDK types it (a bare map). */
export const MetadataMap = Type.Record(Type.String(), Type.String(), { description: 'the metadata: string keys and values' });
export type MetadataMap = Static<typeof MetadataMap>;

/** `PUT /workspace/:id/metadata`: the whole metadata, replacing what was there (`{}` clears it). */
export const MetadataReplaceBody = Type.Object(
  {
    metadata: Type.Record(Type.String({ pattern: METADATA_KEY_PATTERN }), Value, {
      maxProperties: METADATA_LIMITS.maxKeys,
      description: 'every key and its value; keys not named are removed',
    }),
  },
  { additionalProperties: true },
);
export type MetadataReplaceBody = Static<typeof MetadataReplaceBody>;

/** `PATCH /workspace/:id/metadata`: keys to set, merged into what is there; a null value removes its key (JSON merge patch). */
export const MetadataPatchBody = Type.Object(
  {
    metadata: Type.Record(Type.String({ pattern: METADATA_KEY_PATTERN }), Type.Union([Value, Type.Null()]), {
      maxProperties: METADATA_LIMITS.maxKeys,
      description: 'keys to set; null removes the key; keys not named are kept',
    }),
  },
  { additionalProperties: true },
);
export type MetadataPatchBody = Static<typeof MetadataPatchBody>;

/** What `PUT` and `PATCH` answer: the metadata as it is now. */
export const MetadataResponse = Type.Object(
  {
    success: Type.Literal(true),
    workspace_id: Type.String(),
    metadata: MetadataMap,
    updated_at: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: true },
);

const encoder = new TextEncoder();
const utf8Length = (s: string) => encoder.encode(s).length;

/**
 * Checks metadata against the bounds (the schema checks each entry; this the whole, after a merge too) and
 * returns it as a plain map. Anything else is a 400 naming what is wrong.
 */
export function checkMetadata(entries: Record<string, unknown>): Record<string, string> {
  const keys = Object.keys(entries);
  if (keys.length > METADATA_LIMITS.maxKeys) {
    throw new AppError('bad_request', `metadata would have ${keys.length} keys; at most ${METADATA_LIMITS.maxKeys} are allowed`);
  }
  let total = 0;
  // A prototype-free map: keys such as `__proto__` or `constructor` are data like any other.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const key of keys) {
    const value = entries[key];
    if (!KEY.test(key)) {
      throw new AppError(
        'bad_request',
        `metadata key '${key.slice(0, 64)}' is invalid: 1-${METADATA_LIMITS.maxKeyLength} characters, a letter or digit first, then letters, digits and _ . - / :`,
      );
    }
    if (typeof value !== 'string') throw new AppError('bad_request', `metadata value of '${key}' must be a string`);
    if (value.length > METADATA_LIMITS.maxValueLength) {
      throw new AppError('bad_request', `metadata value of '${key}' is longer than ${METADATA_LIMITS.maxValueLength} characters`);
    }
    total += utf8Length(key) + utf8Length(value);
    out[key] = value;
  }
  if (total > METADATA_LIMITS.maxTotalBytes) {
    throw new AppError('bad_request', `metadata would take ${total} bytes; at most ${METADATA_LIMITS.maxTotalBytes} are allowed`);
  }
  return out;
}

/** `PATCH` semantics: `patch`'s keys set, null values removed, the rest kept. The result is checked (`checkMetadata`). */
export function mergeMetadata(current: Record<string, string>, patch: Record<string, string | null>): Record<string, string> {
  const merged: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(current)) merged[k] = v;
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  return checkMetadata(merged);
}
