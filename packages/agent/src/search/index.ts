import { stat } from 'node:fs/promises';
import {
  AppError,
  badParam,
  ContentSearchQuery,
  ContentSearchResponse,
  DEFAULT_CONTENT_RESULTS,
  DEFAULT_SEARCH_TIMEOUT,
  ErrorResponse,
  RipgrepInstallResponse,
  RipgrepStatusResponse,
} from '@cove/protocol';
import type { Domain } from '../context.js';
import { locateSpawnHelper, startHelperSpawner } from '../exec/native/helper-spawner.js';
import { nodeSpawner, type Spawner } from '../exec/spawner.js';
import { withPath } from '../http/errno.js';
import { resolveOptionalPath } from '../paths/resolve.js';
import { type ContentSearch, checkQuery, parseFileTypes, parseIgnorePatterns, rgOutputFor } from './rg-args.js';
import { runRipgrep } from './rg-run.js';
import { aptGetStep, bundledCopyStep, defaultBundleDirs, type InstallStep, RipgrepInstaller } from './ripgrep-installer.js';
import { DEFAULT_RG_INSTALL_PATH, defaultRgCandidates, RipgrepLocator } from './ripgrep-locator.js';

export { aptGetStep, bundledCopyStep, type InstallStep } from './ripgrep-installer.js';

export interface SearchDomainOptions {
  /** Paths where ripgrep may be, in order (default: `rg` in PATH, then /usr/local/bin/rg). */
  rgCandidates?: () => readonly string[];
  /** Where the bundled copy is installed (default /usr/local/bin/rg). */
  installTarget?: string;
  /** Directories holding a shipped `rg` (default: COVE_RIPGREP_DIR, the agent's vendor/ripgrep, next to the agent). */
  bundleDirs?: readonly string[];
  /** Install methods, in order (default: the bundled copy, then apt-get). */
  installSteps?: readonly InstallStep[];
  /** Characters of text one answer carries at most before it stops as capped (default 32 Mi). */
  maxTextChars?: number;
  /** Called with each rg process id (tests check that rg is gone afterwards). */
  onSpawn?: (pid: number) => void;
  /** Called when an rg process is gone, with its exit code or the signal that stopped it. */
  onExit?: (pid: number, code: number | null, signal: NodeJS.Signals | null) => void;
  /**
   * How rg is started: `auto` (default) through the spawn helper when it was
   * built (falling back to the agent itself), `node` always from the agent.
   */
  spawner?: 'auto' | 'node';
}

const NOT_INSTALLED = 'ripgrep is not installed - use POST /files/search/init to install';

/** The search domain: content search with ripgrep, ripgrep status and install. */
export function createSearchDomain(options: SearchDomainOptions = {}): Domain {
  return (app, ctx) => {
    const locator = new RipgrepLocator(options.rgCandidates ?? defaultRgCandidates);
    const target = options.installTarget ?? DEFAULT_RG_INSTALL_PATH;
    const installer = new RipgrepInstaller(
      locator,
      options.installSteps ?? [bundledCopyStep({ dirs: options.bundleDirs ?? defaultBundleDirs(), target }), aptGetStep()],
    );
    const maxTextChars = options.maxTextChars ?? 32 * 1024 * 1024;
    const running = new Set<AbortController>();
    // The spawn helper is started with the first search (and stopped with the agent).
    let spawning: Promise<Spawner> | null = null;
    let helper: Spawner | null = null;
    const spawner = (): Promise<Spawner> => {
      spawning ??=
        options.spawner === 'node'
          ? Promise.resolve(nodeSpawner)
          : locateSpawnHelper(ctx.log).then((binary) => {
              if (binary === undefined || closed) return nodeSpawner;
              helper = startHelperSpawner(binary, nodeSpawner, ctx.log);
              return helper;
            });
      return spawning;
    };
    let closed = false;
    ctx.onClose(() => {
      closed = true;
      for (const c of running) c.abort();
      helper?.close();
    });

    app.get(
      '/files/search',
      {
        schema: {
          summary: 'Search file contents with ripgrep',
          querystring: ContentSearchQuery,
          response: { 200: ContentSearchResponse, '4xx': ErrorResponse, '5xx': ErrorResponse },
        },
      },
      async (request, reply) => {
        const q = request.query;
        // Looking for rg and the spawner overlap the checks below; neither rejects. rg's path is
        // usually known at once (a few synchronous stat calls); otherwise it is probed.
        const known = locator.findKnown();
        const finding = known === undefined ? locator.find() : known;
        const starter = spawner();
        const query = checkQuery(q.q);
        if (q.max_results !== undefined && !Number.isFinite(q.max_results)) throw badParam('max_results', 'must be a finite integer');
        const root = resolveOptionalPath(q.path, '/', ctx.workdir);
        const st = await withPath(q.path ?? '/', () => stat(root));
        const search: ContentSearch = {
          query,
          root,
          rootIsDir: st.isDirectory(),
          caseSensitive: q.case_sensitive ?? false,
          regex: q.regex ?? false,
          wholeWord: q.whole_word ?? false,
          maxResults: q.max_results ?? DEFAULT_CONTENT_RESULTS,
          timeoutMs: Math.round((q.timeout ?? DEFAULT_SEARCH_TIMEOUT) * 1000),
          contextLines: q.context_lines ?? 0,
          fileTypes: parseFileTypes(q.file_types),
          includeHidden: q.include_hidden ?? false,
          noGitignore: q.no_gitignore ?? false,
          ignorePatterns: parseIgnorePatterns(q.ignore_patterns),
        };
        const rg = await finding;
        if (!rg) throw new AppError('ripgrep_not_installed', NOT_INSTALLED);
        const start = await starter;

        // A client that goes away takes its rg with it.
        const abort = new AbortController();
        running.add(abort);
        const onClose = () => {
          if (!reply.raw.writableFinished) abort.abort();
        };
        reply.raw.once('close', onClose);
        try {
          // The answer is written by hand around the results the collector serialised as rg went.
          const head = Buffer.from(`{"success":true,"query":${JSON.stringify(q.q)},"path":${JSON.stringify(root)},"results":`);
          const { collector } = await runRipgrep(rg.path, search, {
            maxTextChars,
            signal: abort.signal,
            spawner: start,
            output: rgOutputFor(search, rg.version),
            head,
            ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
            ...(options.onExit ? { onExit: options.onExit } : {}),
          });
          const body = collector.body();
          return reply.type('application/json; charset=utf-8').send(body as never);
        } finally {
          running.delete(abort);
          reply.raw.off('close', onClose);
        }
      },
    );

    app.get(
      '/files/search/init',
      { schema: { summary: 'Whether ripgrep is installed', response: { 200: RipgrepStatusResponse } } },
      async () => {
        const rg = await locator.find();
        const installing = installer.installing ? { installing: true as const } : {};
        if (rg) return { success: true as const, installed: true, path: rg.path, version: rg.version, ...installing };
        return { success: true as const, installed: false, message: NOT_INSTALLED, ...installing };
      },
    );

    app.post(
      '/files/search/init',
      {
        schema: {
          summary: 'Install ripgrep (from the copy the agent ships, or with apt-get)',
          response: { 200: RipgrepInstallResponse, '4xx': ErrorResponse, '5xx': ErrorResponse },
        },
      },
      async () => {
        const r = await installer.install();
        ctx.log.info({ method: r.method, path: r.path, version: r.version }, 'ripgrep ready');
        return { success: true as const, installed: true as const, path: r.path, version: r.version, method: r.method, message: r.message };
      },
    );
  };
}

/** The search domain with its defaults. */
export const searchDomain: Domain = createSearchDomain();
