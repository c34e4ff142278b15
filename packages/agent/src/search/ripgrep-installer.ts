import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '@cove/protocol';
import { type RipgrepInfo, type RipgrepLocator, readVersion } from './ripgrep-locator.js';

/** One way of installing ripgrep. `run` resolves with what it did, or throws why it could not. */
export interface InstallStep {
  /** Reported as `method` when this step installed ripgrep. */
  name: string;
  run(): Promise<string>;
}

export interface InstallResult extends RipgrepInfo {
  method: string;
  message: string;
}

/**
 * Installs ripgrep once: steps are tried in order until one leaves a working
 * rg among the locator's candidates. Only one install runs at a time; a
 * second request meanwhile is 409 `install_in_progress`.
 */
export class RipgrepInstaller {
  readonly #locator: RipgrepLocator;
  readonly #steps: readonly InstallStep[];
  #running: Promise<InstallResult> | null = null;

  constructor(locator: RipgrepLocator, steps: readonly InstallStep[]) {
    this.#locator = locator;
    this.#steps = steps;
  }

  get installing(): boolean {
    return this.#running !== null;
  }

  async install(): Promise<InstallResult> {
    if (this.#running) throw new AppError('install_in_progress', 'a ripgrep installation is already in progress');
    this.#running = this.#install();
    try {
      return await this.#running;
    } finally {
      this.#running = null;
    }
  }

  async #install(): Promise<InstallResult> {
    const existing = await this.#locator.find();
    if (existing) return { ...existing, method: 'already_installed', message: 'ripgrep is already installed' };
    const failures: string[] = [];
    for (const step of this.#steps) {
      try {
        const detail = await step.run();
        const found = await this.#locator.find();
        if (found) return { ...found, method: step.name, message: detail };
        failures.push(`${step.name}: finished, but no working rg is where the agent looks for it`);
      } catch (err) {
        failures.push(`${step.name}: ${(err as Error).message}`);
      }
    }
    const tried = failures.length > 0 ? failures.join('; ') : 'no install method is configured';
    throw new AppError('install_failed', `ripgrep could not be installed (${tried})`);
  }
}

/** Directories searched for a ripgrep the agent ships. */
export function defaultBundleDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.COVE_RIPGREP_DIR) dirs.push(process.env.COVE_RIPGREP_DIR);
  // <agent package>/vendor/ripgrep, whether running from dist/ or src/.
  dirs.push(fileURLToPath(new URL('../../vendor/ripgrep', import.meta.url)));
  // Next to the agent's entry script and next to the node binary running it.
  if (process.argv[1]) dirs.push(path.dirname(process.argv[1]));
  return [...new Set(dirs)];
}

/**
 * Copies a shipped rg binary into place: to a temporary name beside the
 * target, made executable, then renamed, so a concurrent search never runs
 * a half-written binary.
 */
export function bundledCopyStep(options: { dirs: readonly string[]; target: string }): InstallStep {
  return {
    name: 'bundled',
    async run() {
      for (const dir of options.dirs) {
        const source = path.join(dir, 'rg');
        try {
          if (!(await stat(source)).isFile()) continue;
          await access(source, constants.X_OK);
        } catch {
          continue;
        }
        if (path.resolve(source) === path.resolve(options.target)) continue;
        if ((await readVersion(source)) === null) continue;
        await mkdir(path.dirname(options.target), { recursive: true });
        const temp = `${options.target}.cove-${process.pid}-${Date.now()}`;
        try {
          await copyFile(source, temp);
          await chmod(temp, 0o755);
          await rename(temp, options.target);
        } catch (err) {
          await rm(temp, { force: true });
          throw new Error(`cannot copy ${source} to ${options.target}: ${(err as Error).message}`);
        }
        return `copied ${source} to ${options.target}`;
      }
      throw new Error(`no rg binary shipped with the agent (looked in ${options.dirs.join(', ') || 'nowhere'})`);
    },
  };
}

/** Installs the `ripgrep` package with apt-get, refreshing the package lists if the first try fails. */
export function aptGetStep(options: { timeoutMs?: number } = {}): InstallStep {
  const timeout = options.timeoutMs ?? 10 * 60_000;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      execFile('apt-get', args, { env, timeout, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
        if (!err) return resolve();
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          return reject(Object.assign(new Error('apt-get is not available'), { code: 'ENOENT' }));
        const tail = String(stderr).trim().split('\n').slice(-3).join(' ').slice(0, 500);
        reject(new Error(`apt-get ${args[0]} failed${tail ? `: ${tail}` : ` (${err.message})`}`));
      });
    });
  return {
    name: 'apt-get',
    async run() {
      const install = ['install', '-y', '-q', '--no-install-recommends', 'ripgrep'];
      try {
        await run(install);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
        await run(['update', '-q']);
        await run(install);
      }
      return 'installed the ripgrep package with apt-get';
    },
  };
}
