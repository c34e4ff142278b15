// Where a workspace's archives are kept: `<dataDir>/archives/<workspace id>/<version>.<format>` and beside it
// `<version>.json` (its record, @cove/archive's). Deleting the workspace removes the whole directory.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ArchiveRecords } from '@cove/archive';

export class ArchiveStore extends ArchiveRecords {
  constructor(readonly dir: string) {
    super((id) => path.join(dir, id));
  }

  workspaceDir(id: string): string {
    return this.dirOf(id);
  }

  /** Drops what archives cut short left in every workspace's directory (a driver that died while writing one). */
  async dropPartial(): Promise<void> {
    for (const id of await readdir(this.dir).catch(() => [] as string[])) await this.dropPartialOf(id);
  }

  /** Every archive of the workspace, files and all (its deletion). */
  async forget(id: string): Promise<void> {
    await rm(this.workspaceDir(id), { recursive: true, force: true });
  }
}
