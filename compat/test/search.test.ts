// The official SDK as a black-box client of the search endpoints (content search, ripgrep status and install),
// on each driver (see openOfficialWorkspace); the host writes the files to search.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Runtime } from 'oblien/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSearchDomain } from '../../packages/agent/src/search/index.js';
import { startTestAgent } from '../../packages/agent/test/helpers/agent.js';
import { describeOnEachDriver } from './helpers/official-runtime.js';

const SLOT = 28;

describeOnEachDriver(
  SLOT,
  (variant) => `official SDK: search (${variant.title})`,
  (w) => {
    let app: string;
    beforeAll(async () => {
      app = path.join(w.workdir, 'app');
      const put = async (file: string, content: string) => {
        await mkdir(path.dirname(w.hostPath(path.join(app, file))), { recursive: true });
        await writeFile(w.hostPath(path.join(app, file)), content);
      };
      await put('src/server.go', 'package main\n\nfunc handleRequest() {\n\thandleRequest()\n}\n');
      await put('src/util.js', '// handleRequest in js\n');
      await put('vendor/lib.go', 'handleRequest vendored\n');
      await put('.env', 'handleRequest=hidden\n');
    }, 120_000);

    it('rt.search.content returns the reference shape', async () => {
      const res = await w.rt.search.content({ query: 'handleRequest', path: path.join(app, 'src'), contextLines: 1, maxResults: 100 });
      expect(res).toEqual({
        success: true,
        query: 'handleRequest',
        path: path.join(app, 'src'),
        results: {
          'server.go': [
            { line: 3, column: 6, text: 'func handleRequest() {', context_before: [''], context_after: ['\thandleRequest()'] },
            { line: 4, column: 2, text: '\thandleRequest()', context_before: ['func handleRequest() {'], context_after: ['}'] },
          ],
          'util.js': [{ line: 1, column: 4, text: '// handleRequest in js', context_before: [], context_after: [] }],
        },
        total_matches: 3,
        total_files: 2,
        capped: false,
      });
    });

    it('rt.search.content passes every option the SDK knows', async () => {
      const res = await w.rt.search.content({
        query: 'handlerequest',
        path: app,
        caseSensitive: false,
        regex: false,
        wholeWord: true,
        maxResults: 2,
        timeout: 5,
        contextLines: 0,
        fileTypes: 'go',
        includeHidden: true,
        noGitignore: true,
        ignorePatterns: 'vendor',
      });
      expect(res.results).toEqual({
        'src/server.go': [
          { line: 3, column: 6, text: 'func handleRequest() {' },
          { line: 4, column: 2, text: '\thandleRequest()' },
        ],
      });
      expect(res.total_matches).toBe(2);
      expect(res.capped).toBe(false);

      const hidden = await w.rt.search.content({ query: 'handleRequest', path: app, includeHidden: true, fileTypes: 'env' });
      expect(Object.keys(hidden.results)).toEqual(['.env']);
      const capped = await w.rt.search.content({ query: 'handleRequest', path: app, maxResults: 1 });
      expect(capped.total_matches).toBe(1);
      expect(capped.capped).toBe(true);
    });

    it('rt.search.content surfaces errors as SDK errors with code and status', async () => {
      await expect(w.rt.search.content({ query: 'handle(', path: app, regex: true })).rejects.toMatchObject({
        status: 400,
        code: 'bad_request',
      });
      await expect(w.rt.search.content({ query: 'x', path: path.join(app, 'missing') })).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      });
      await expect(w.rt.search.content({ query: 'x', path: app, timeout: 61 })).rejects.toMatchObject({ status: 400 });
      await expect(w.rt.search.content({ query: 'x', path: app, contextLines: 11 })).rejects.toMatchObject({ status: 400 });
      const fifo = path.join(w.workdir, 'slow.fifo');
      execFileSync('mkfifo', [w.hostPath(fifo)]);
      await expect(w.rt.search.content({ query: 'x', path: fifo, timeout: 1 })).rejects.toMatchObject({
        status: 504,
        code: 'search_timeout',
      });
    });

    it('rt.search.status and rt.search.init report the installed ripgrep', async () => {
      const status = await w.rt.search.status();
      expect(status).toMatchObject({ success: true, installed: true });
      expect(status.path).toMatch(/\/rg$/);
      expect(status.version).toMatch(/^ripgrep \d+/);
      const init = await w.rt.search.init();
      expect(init).toMatchObject({ success: true, path: status.path, version: status.version });
    });
  },
);

describe('official SDK: search without ripgrep', () => {
  it('without ripgrep: status says so, content search is 503, init reports its failure', async () => {
    const bare = await startTestAgent({
      domains: [createSearchDomain({ rgCandidates: () => ['/nonexistent/no-rg'], installSteps: [] })],
    });
    try {
      const brt = new Runtime({ token: bare.token, baseUrl: bare.url });
      expect(await brt.search.status()).toEqual({
        success: true,
        installed: false,
        message: 'ripgrep is not installed - use POST /files/search/init to install',
      });
      await expect(brt.search.content({ query: 'x', path: bare.workdir })).rejects.toMatchObject({
        status: 503,
        code: 'ripgrep_not_installed',
      });
      await expect(brt.search.init()).rejects.toMatchObject({ status: 503, code: 'install_failed' });
    } finally {
      await bare.close();
    }
  });
});
