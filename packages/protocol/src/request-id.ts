/**
 * Request ids: every Cove server answers with `x-request-id` and logs it,
 * and the gateway forwards it to the agent, so one id follows a request
 * through every hop. A caller's own id is kept when it is 1–128 visible
 * ASCII characters (0x21–0x7E: safe in a header line and a log field);
 * anything else is replaced by a fresh UUID.
 */

/** The header, lower-cased as Node and the gateway compare names. */
export const REQUEST_ID_HEADER = 'x-request-id';

const MAX_REQUEST_ID_LENGTH = 128;

/** Whether a caller's id may be echoed as it is. */
export function isValidRequestId(value: string): boolean {
  const length = value.length;
  if (length === 0 || length > MAX_REQUEST_ID_LENGTH) return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** The caller's id when valid (a repeated header is invalid), else a new random UUID. */
export function requestIdFrom(header: string | readonly string[] | undefined): string {
  if (typeof header === 'string' && isValidRequestId(header)) return header;
  return globalThis.crypto.randomUUID();
}
