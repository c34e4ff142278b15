// What an image's config (the OCI image config blob) holds for Cove: the layers' diff ids, in order, and
// what applies to a workspace (Env, WorkingDir, User, Entrypoint, Cmd), checked field by field.
import type { ImageConfig } from '@cove/protocol';

export class ImageConfigError extends Error {}

export interface ParsedImageConfig {
  config: ImageConfig;
  /** `sha256:…` of each uncompressed layer, bottom first. */
  diffIds: string[];
  created: string | null;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function strings(value: unknown, field: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new ImageConfigError(`${field} is not a list of strings`);
  return value as string[];
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new ImageConfigError(`${field} is not a string`);
  return value;
}

export function parseImageConfig(raw: unknown): ParsedImageConfig {
  if (typeof raw !== 'object' || raw === null) throw new ImageConfigError('the image config is not an object');
  const doc = raw as { config?: Record<string, unknown> | null; rootfs?: { type?: unknown; diff_ids?: unknown }; created?: unknown };
  if (doc.rootfs?.type !== 'layers') throw new ImageConfigError("the image config's rootfs is not of type 'layers'");
  const diffIds = strings(doc.rootfs.diff_ids, 'rootfs.diff_ids') ?? [];
  if (!diffIds.every((d) => DIGEST.test(d))) throw new ImageConfigError('a diff id is not a sha256 digest');
  const c = doc.config ?? {};
  if (typeof c !== 'object') throw new ImageConfigError('config is not an object');
  const env = strings(c['Env'], 'config.Env') ?? [];
  if (!env.every((e) => e.includes('=') && !e.startsWith('='))) throw new ImageConfigError('an entry of config.Env is not KEY=value');
  const created = typeof doc.created === 'string' && !Number.isNaN(Date.parse(doc.created)) ? new Date(doc.created).toISOString() : null;
  return {
    config: {
      env,
      workingDir: optionalString(c['WorkingDir'], 'config.WorkingDir'),
      user: optionalString(c['User'], 'config.User'),
      entrypoint: strings(c['Entrypoint'], 'config.Entrypoint'),
      cmd: strings(c['Cmd'], 'config.Cmd'),
    },
    diffIds,
    created,
  };
}
