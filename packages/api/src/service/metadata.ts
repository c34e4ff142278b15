// A workspace's metadata: string keys and values the control plane stores and never interprets (protocol's
// metadata.ts has the bounds). PUT replaces, PATCH merges (null removes a key); both are a compare-and-set on
// the stored version, so concurrent writers, on one control plane or several on one database, lose nothing.
import { AppError, checkMetadata, mergeMetadata } from '@cove/protocol';
import type { MetadataRecord } from '../store/records.js';
import { type ControlContext, ownedWorkspace } from './context.js';

/** Attempts of a compare-and-set before giving up: only writers racing on one workspace ever need a second. */
const MAX_ATTEMPTS = 16;

/** The metadata of the owner's workspace (404 for another owner's). */
export async function getMetadata(ctx: ControlContext, owner: string, id: string): Promise<MetadataRecord> {
  await ownedWorkspace(ctx, owner, id);
  return ctx.store.getMetadata(id);
}

/** Replaces the metadata with `entries` (`{}` clears it). */
export function replaceMetadata(ctx: ControlContext, owner: string, id: string, entries: Record<string, string>): Promise<MetadataRecord> {
  const next = checkMetadata(entries);
  return write(ctx, owner, id, () => next);
}

/** Merges `patch` into the metadata: its keys set, null values removed, others kept. */
export function patchMetadata(
  ctx: ControlContext,
  owner: string,
  id: string,
  patch: Record<string, string | null>,
): Promise<MetadataRecord> {
  return write(ctx, owner, id, (current) => mergeMetadata(current, patch));
}

/** Metadata given at create, written once the workspace's row exists (checked before anything is made: `checkMetadata`). */
export async function initialMetadata(ctx: ControlContext, id: string, entries: Record<string, string>): Promise<void> {
  if (Object.keys(entries).length === 0) return;
  await ctx.store.putMetadata(id, entries, 0);
}

async function write(
  ctx: ControlContext,
  owner: string,
  id: string,
  next: (current: Record<string, string>) => Record<string, string>,
): Promise<MetadataRecord> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    await ownedWorkspace(ctx, owner, id);
    const current = await ctx.store.getMetadata(id);
    const written = await ctx.store.putMetadata(id, next(current.entries), current.version);
    if (written) return written;
  }
  // Reached only when the workspace went away meanwhile (or writers keep racing on it).
  await ownedWorkspace(ctx, owner, id);
  throw new AppError('conflict', `workspace '${id}' metadata changed concurrently too often; try again`);
}

/** The answer of PUT and PATCH. */
export function presentMetadata(record: MetadataRecord) {
  return { success: true as const, workspace_id: record.workspaceId, metadata: { ...record.entries }, updated_at: record.updatedAt };
}

/** `metadata` of a create body, checked before anything is made (400 for anything but a bounded map of strings). */
export function createMetadata(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new AppError('bad_request', 'metadata must be an object of strings');
  return checkMetadata(value as Record<string, unknown>);
}
