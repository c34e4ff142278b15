// Image references, normalised as Docker does: `python` is `docker.io/library/python:latest`, `ghcr.io/org/app`
// keeps its registry, a digest pins the manifest. Registries on loopback may be plain HTTP, as Docker allows.
import { AppError } from '@cove/protocol';

export interface ImageReference {
  /** `docker.io`, `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  registry: string;
  /** `library/python`, `org/app`. */
  repository: string;
  /** Null when only a digest names it. */
  tag: string | null;
  /** `sha256:…` when the reference pins one. */
  digest: string | null;
  /** `docker.io/library/python:3.12`, `ghcr.io/org/app@sha256:…`: the key the store files it under. */
  canonical: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

function invalid(reference: string, why: string): AppError {
  return new AppError('bad_request', `invalid image reference '${reference}': ${why}`);
}

/** Parses and normalises a reference; a malformed one is `bad_request`. */
export function parseReference(reference: string): ImageReference {
  if (reference.length === 0 || reference.length > 512) throw invalid(reference, 'it must have 1 to 512 characters');
  let rest = reference;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(reference, 'a digest is sha256: and 64 lowercase hex digits');
  }
  let tag: string | null = null;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(reference, `'${tag}' is not a valid tag`);
  }
  let registry = 'docker.io';
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  // Docker's rule: the first component is a registry when it has a dot or a port, or is `localhost`.
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first.startsWith('[') || first === 'localhost')) {
    registry = first;
    rest = rest.slice(slash + 1);
    if (!HOST.test(registry)) throw invalid(reference, `'${registry}' is not a registry host`);
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  if (rest.length === 0 || !rest.split('/').every((c) => COMPONENT.test(c)))
    throw invalid(reference, 'a repository name is lowercase letters, digits and separators (. _ __ -) between /');
  if (tag === null && digest === null) tag = 'latest';
  const canonical = `${registry}/${rest}${tag === null ? '' : `:${tag}`}${digest === null ? '' : `@${digest}`}`;
  return { registry, repository: rest, tag, digest, canonical };
}

/** Whether the registry is on this host's loopback (plain HTTP and unverified TLS allowed, as Docker does). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : (registry.split(':')[0] ?? '');
  return host === 'localhost' || host === '::1' || /^127(?:\.[0-9]{1,3}){3}$/.test(host);
}

/** An image id (`sha256:` and the config's 64 hex digits), or the bare 64 digits, normalised; else null. */
export function parseImageId(text: string): string | null {
  if (DIGEST.test(text)) return text;
  if (/^[a-f0-9]{64}$/.test(text)) return `sha256:${text}`;
  return null;
}

/** What skopeo's `docker://` transport is given for a reference. */
export function dockerTransport(ref: ImageReference): string {
  return `docker://${ref.canonical}`;
}
