import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

/** Where `POST /files/search/init` installs ripgrep, and where it is always looked for. */
export const DEFAULT_RG_INSTALL_PATH = '/usr/local/bin/rg';

/** A ripgrep binary that runs. */
export interface RipgrepInfo {
  path: string;
  /** First line of `rg --version`, e.g. `ripgrep 14.1.0`. */
  version: string;
}

/** The default candidates: `rg` in every directory of PATH, then the install path. */
export function defaultRgCandidates(): string[] {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d));
  return [...new Set([...dirs.map((d) => path.join(d, 'rg')), DEFAULT_RG_INSTALL_PATH])];
}

/**
 * Finds ripgrep among candidate paths. The first executable regular file
 * whose `--version` says ripgrep wins. Versions are cached per path, size and
 * modification time, so the common case (a search) costs a few stat calls
 * and no process, while a binary replaced by an install is noticed.
 */
export class RipgrepLocator {
  readonly #candidates: () => readonly string[];
  readonly #versions = new Map<string, { key: string; version: string | null }>();

  constructor(candidates: () => readonly string[]) {
    this.#candidates = candidates;
  }

  /** The first working ripgrep, or null. Candidates are probed at once: one file-system round trip per search. */
  async find(): Promise<RipgrepInfo | null> {
    const found = await Promise.all(this.#candidates().map((c) => this.#probe(c)));
    for (const info of found) if (info) return info;
    return null;
  }

  /**
   * find()'s answer without waiting, when it is known: candidates are
   * stat'ed synchronously (no thread-pool round trips; missing paths cost a
   * microsecond) and each one up to the answer has its version cached for
   * the same file. Undefined when a version must be read (use find()).
   */
  findKnown(): RipgrepInfo | null | undefined {
    for (const candidate of this.#candidates()) {
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(candidate, { throwIfNoEntry: false });
      } catch {
        continue;
      }
      if (st === undefined || !st.isFile() || (st.mode & 0o111) === 0) continue;
      const cached = this.#versions.get(candidate);
      if (cached === undefined || cached.key !== `${st.size}:${st.mtimeMs}:${st.ino}`) return undefined;
      if (cached.version !== null) return { path: candidate, version: cached.version };
    }
    return null;
  }

  async #probe(candidate: string): Promise<RipgrepInfo | null> {
    let key: string;
    try {
      const st = await stat(candidate);
      // Some execute bit: what matters is that spawning it works, which --version checks once.
      if (!st.isFile() || (st.mode & 0o111) === 0) return null;
      key = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      return null;
    }
    const cached = this.#versions.get(candidate);
    let version = cached?.key === key ? cached.version : undefined;
    if (version === undefined) {
      version = await readVersion(candidate);
      this.#versions.set(candidate, { key, version });
    }
    return version === null ? null : { path: candidate, version };
  }
}

/** First line of `<bin> --version` if it looks like ripgrep's, else null. */
export function readVersion(bin: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(bin, ['--version'], { timeout: 5000, maxBuffer: 64 * 1024 }, (err, stdout) => {
      if (err) return resolve(null);
      const first = String(stdout).split('\n', 1)[0]?.trim() ?? '';
      resolve(/^ripgrep\s/.test(first) ? first : null);
    });
  });
}
