import { AppError, PUBLIC_SLUG_PATTERN, RESERVED_SLUGS } from '@cove/protocol';

/** What a Host under the preview domain names. */
export type PreviewHostMatch =
  /** `host`: the name without its port, lower-cased (the cookie's scope and the redirect's). */
  | { slug: string; host: string }
  /** A label no slug can have (`%`, `_`, non-ASCII, over 63 characters): refused, never looked up. */
  | { error: AppError };

const SLUG = new RegExp(PUBLIC_SLUG_PATTERN);
const LABEL_CHARS = /^[a-z0-9-]{1,63}$/;
const RESERVED = new Set(RESERVED_SLUGS);

/** A preview domain as configured: lower-case DNS labels, without leading or trailing dots. */
export function normalizePreviewDomain(domain: string): string {
  const d = domain
    .trim()
    .toLowerCase()
    .replace(/^\.+|\.+$/g, '');
  if (d.length === 0 || d.length > 253 || !d.split('.').every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label))) {
    throw new Error(`invalid preview domain '${domain}': expected a host name such as localhost or preview.example.com`);
  }
  return d;
}

/**
 * Recognises public-port hosts: `<slug>.<preview domain>`, any port, any
 * case, exactly one label before the domain. Runs on every request, so the
 * common answer ("not a preview host") costs a `lastIndexOf` and a compare of
 * at most the domain's length, without allocating.
 */
export class PreviewHosts {
  /** `.` + the domain, lower case. */
  readonly #suffix: string;

  constructor(domain: string) {
    this.#suffix = `.${normalizePreviewDomain(domain)}`;
  }

  /**
   * undefined when `host` is not a public-port host (the bare domain, two
   * labels or more, a reserved name, anything else): such requests are the
   * data plane's, unchanged.
   */
  match(host: string): PreviewHostMatch | undefined {
    const suffix = this.#suffix;
    let end = host.length;
    const colon = host.lastIndexOf(':');
    if (colon >= 0) end = colon;
    const start = end - suffix.length;
    if (start <= 0) return undefined;
    for (let i = 0; i < suffix.length; i++) {
      let c = host.charCodeAt(start + i);
      if (c >= 65 && c <= 90) c |= 0x20;
      if (c !== suffix.charCodeAt(i)) return undefined;
    }
    // The rare case from here on: a name under the preview domain.
    if (colon >= 0 && !/^\d{1,5}$/.test(host.slice(colon + 1))) return undefined;
    const label = host.slice(0, start).toLowerCase();
    if (label.includes('.')) return undefined;
    if (RESERVED.has(label)) return undefined;
    if (!LABEL_CHARS.test(label)) return { error: new AppError('bad_request', 'invalid host name') };
    const name = `${label}${suffix}`;
    // A valid label that no slug can be (too short, edge hyphens) names nothing: an empty slug is never found.
    return { slug: SLUG.test(label) ? label : '', host: name };
  }
}
