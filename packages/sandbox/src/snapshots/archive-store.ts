// Where a workspace's archives are kept: `<dataDir>/archives/<workspace id>/<version>.<format>` and beside it
// `<version>.json` (what the archive is). An archive unlisted without its file keeps the file (and a
// `deleted` mark in its record) until its workspace is deleted, which removes the whole directory.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type ArchiveInfo } from '@cove/protocol';

interface ArchiveRecord extends ArchiveInfo {
  deleted?: boolean;
}

export class ArchiveStore {
  constructor(readonly dir: string) {}

  workspaceDir(id: string): string {
    return path.join(this.dir, id);
  }

  file(id: string, version: string, format: string): string {
    return path.join(this.workspaceDir(id), `${version}.${format}`);
  }

  #record(id: string, version: string): string {
    return path.join(this.workspaceDir(id), `${version}.json`);
  }

  async #read(id: string, version: string): Promise<ArchiveRecord | undefined> {
    const text = await readFile(this.#record(id, version), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as ArchiveRecord);
  }

  /**
   * Drops what archives cut short left (a driver that died while writing one): partial files, records being
   * written, and archive files whose record was never saved.
   */
  async dropPartial(): Promise<void> {
    for (const id of await readdir(this.dir).catch(() => [] as string[])) {
      const dir = this.workspaceDir(id);
      const names = await readdir(dir).catch(() => [] as string[]);
      const kept = new Set<string>();
      for (const name of names.filter((n) => n.endsWith('.json'))) {
        const record = await readFile(path.join(dir, name), 'utf8')
          .then((t) => JSON.parse(t) as ArchiveRecord)
          .catch(() => undefined);
        if (record) kept.add(name).add(`${record.version}.${record.format}`);
      }
      for (const name of names) if (!kept.has(name)) await rm(path.join(dir, name), { force: true });
    }
  }

  /** Whether the version is taken (listed, or unlisted with its file kept: its name is the file's). */
  async taken(id: string, version: string): Promise<boolean> {
    return existsSync(this.#record(id, version));
  }

  async save(info: ArchiveInfo): Promise<void> {
    await mkdir(this.workspaceDir(info.workspaceId), { recursive: true, mode: 0o700 });
    const file = this.#record(info.workspaceId, info.version);
    await writeFile(`${file}.tmp`, JSON.stringify(info), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  async list(id: string): Promise<ArchiveInfo[]> {
    const names = await readdir(this.workspaceDir(id)).catch(() => [] as string[]);
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
      await this.save({ ...info, deleted: true } as ArchiveRecord);
    }
    return info;
  }

  /** Every archive of the workspace, files and all (its deletion). */
  async forget(id: string): Promise<void> {
    await rm(this.workspaceDir(id), { recursive: true, force: true });
  }
}

function publicInfo(record: ArchiveRecord): ArchiveInfo {
  const { deleted: _deleted, ...info } = record;
  return info;
}
