// Where workload definitions persist: one JSON file in the agent's state directory (root's only), replaced
// whole by rename, so that a workspace that restarts finds them and a crash never leaves half a file.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { WorkloadDefinition } from './definition.js';
import type { WorkloadRuntime } from './workload.js';

export interface StoredWorkload {
  definition: WorkloadDefinition;
  runtime: WorkloadRuntime;
}

interface StoreFile {
  version: 1;
  workloads: StoredWorkload[];
}

export class WorkloadStore {
  readonly dir: string;
  readonly #file: string;
  readonly #log: Logger;
  /** Saves run one after another; a save asked for while one runs is done once, after it, with the latest state. */
  #saving: Promise<void> = Promise.resolve();
  #pending: (() => StoredWorkload[]) | undefined;
  #written = false;

  constructor(dir: string, log: Logger) {
    this.dir = dir;
    this.#file = path.join(dir, 'workloads.json');
    this.#log = log;
  }

  /** The saved workloads; none when there is no file. A file that cannot be read is kept aside, not lost. */
  async load(): Promise<StoredWorkload[]> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as StoreFile;
      if (parsed.version !== 1 || !Array.isArray(parsed.workloads)) throw new Error('unknown layout');
      return parsed.workloads.filter((w) => typeof w?.definition?.id === 'string' && Array.isArray(w.definition.cmd));
    } catch (err) {
      const aside = `${this.#file}.bad-${Date.now()}`;
      await rename(this.#file, aside).catch(() => {});
      this.#log.error({ err: (err as Error).message, file: aside }, 'workload definitions unreadable; set aside');
      return [];
    }
  }

  /** Saves what `snapshot` returns when the save runs (coalescing saves asked for meanwhile). */
  save(snapshot: () => StoredWorkload[]): Promise<void> {
    const first = this.#pending === undefined;
    this.#pending = snapshot;
    if (first) {
      this.#saving = this.#saving.then(async () => {
        const take = this.#pending;
        this.#pending = undefined;
        if (!take) return;
        const body: StoreFile = { version: 1, workloads: take() };
        const tmp = `${this.#file}.tmp`;
        try {
          // Made at the first save, so that an agent that never had a workload leaves no directory behind.
          if (body.workloads.length === 0 && !this.#written && !existsSync(this.#file)) return;
          await mkdir(this.dir, { recursive: true, mode: 0o700 });
          this.#written = true;
          await writeFile(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
          await rename(tmp, this.#file);
        } catch (err) {
          this.#log.error({ err: (err as Error).message }, 'could not save workload definitions');
        }
      });
    }
    return this.#saving;
  }
}
