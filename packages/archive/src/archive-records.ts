// Where a workspace's archives are listed: beside each `<version>.<format>` file its `<version>.json` record
// (what the archive is). An archive unlisted without its file keeps the file (and a `deleted` mark in its
// record) until the workspace is deleted.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type ArchiveInfo } from '@cove/protocol';

export interface ArchiveRecord extends ArchiveInfo {
  deleted?: boolean;
}

export class ArchiveRecords {
  /** `dirOf(id)`: the directory a workspace's archives live in. */
  constructor(readonly dirOf: (id: string) => string) {}

  file(id: string, version: string, format: string): string {
    return path.join(this.dirOf(id), `${version}.${format}`);
  }

  #record(id: string, version: string): string {
    return path.join(this.dirOf(id), `${version}.json`);
  }

  async #read(id: string, version: string): Promise<ArchiveRecord | undefined> {
    const text = await readFile(this.#record(id, version), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as ArchiveRecord);
  }

  /** Whether the version is taken (listed, or unlisted with its file kept: its name is the file's). */
  taken(id: string, version: string): boolean {
    return existsSync(this.#record(id, version));
  }

  async save(info: ArchiveRecord): Promise<void> {
    await mkdir(this.dirOf(info.workspaceId), { recursive: true, mode: 0o700 });
    const file = this.#record(info.workspaceId, info.version);
    await writeFile(`${file}.tmp`, JSON.stringify(info), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  async list(id: string): Promise<ArchiveInfo[]> {
    const names = await readdir(this.dirOf(id)).catch(() => [] as string[]);
    const out: ArchiveInfo[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const record = await this.#read(id, name.slice(0, -5));
      if (record && !record.deleted) out.push(publicInfo(record));
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.version.localeCompare(b.version));
  }

  async get(id: string, version: string): Promise<ArchiveInfo> {
    const record = await this.#read(id, version);
    if (!record || record.deleted) throw new AppError('not_found', `workspace '${id}' has no archive '${version}'`);
    return publicInfo(record);
  }

  async remove(id: string, version: string, deleteFile: boolean): Promise<ArchiveInfo> {
    const info = await this.get(id, version);
    if (deleteFile) {
      await rm(this.file(id, version, info.format), { force: true });
      await rm(this.#record(id, version), { force: true });
    } else {
      await this.save({ ...info, deleted: true });
    }
    return info;
  }

  /**
   * Drops what archives cut short left in the workspace's directory (a driver that died while writing one):
   * partial files, records being written, and archive files whose record was never saved.
   */
  async dropPartialOf(id: string): Promise<void> {
    const dir = this.dirOf(id);
    const names = await readdir(dir).catch(() => [] as string[]);
    const kept = new Set<string>();
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const record = await this.#read(id, name.slice(0, -5)).catch(() => undefined);
      if (record) kept.add(name).add(`${record.version}.${record.format}`);
    }
    for (const name of names) if (!kept.has(name)) await rm(path.join(dir, name), { force: true });
  }
}

function publicInfo(record: ArchiveRecord): ArchiveInfo {
  const { deleted: _deleted, ...info } = record;
  return info;
}
