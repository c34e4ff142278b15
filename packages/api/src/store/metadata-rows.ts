// The workspace_metadata table's rows and the control plane's MetadataRecord, both ways.
import type { MetadataRecord } from './records.js';

export interface MetadataRow {
  workspace_id: string;
  entries: string;
  version: number | string;
  updated_at: string;
}

export function toMetadata(row: MetadataRow): MetadataRecord {
  // A prototype-free map: keys such as `__proto__` are data like any other.
  const entries = Object.create(null) as Record<string, string>;
  try {
    const parsed: unknown = JSON.parse(row.entries);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') entries[k] = v;
    }
  } catch {
    // A damaged row reads as empty, never fatal; the next write replaces it.
  }
  return { workspaceId: row.workspace_id, entries, version: Number(row.version), updatedAt: row.updated_at };
}

export function fromMetadata(entries: Record<string, string>): string {
  return JSON.stringify(entries);
}
