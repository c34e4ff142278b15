// The official SDK as a black-box client of the listing endpoints, on each driver (see openOfficialWorkspace).
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { makeTree } from '../../packages/agent/test/listing/fixture.js';
import { describeOnEachDriver } from './helpers/official-runtime.js';

const SLOT = 27;

describeOnEachDriver(
  SLOT,
  (variant) => `official SDK: listing (${variant.title})`,
  (w) => {
    let dir: string;
    beforeAll(async () => {
      dir = path.join(w.workdir, 'app');
      await makeTree(w.hostPath(dir), {
        src: { 'main.go': 'package main\n', 'auth.controller.ts': 'x' },
        'README.md': '# r\n',
        'img.png': '\0\0',
      });
    }, 120_000);

    it('rt.files.list with every option the SDK sends', async () => {
      const result = await w.rt.files.list({
        dirPath: dir,
        nested: true,
        flatten: true,
        includeContent: true,
        codeFilesOnly: true,
        maxDepth: 5,
        includeHash: true,
        includeExtensions: true,
        useGitignore: true,
        pathFilter: 'src',
        includeExt: 'go',
        ignorePatterns: 'vendor',
        maxContentBudget: 1000,
        light: false,
      });
      expect(result.success).toBe(true);
      expect(result.path).toBe(dir);
      expect(result.count).toBe(2);
      expect(result.entries.map((e) => e.path)).toEqual([`${dir}/src`, `${dir}/src/main.go`]);
      expect(result.entries[1]).toMatchObject({ type: 'file', extension: '.go', content: 'package main\n', hash: expect.any(String) });
    });

    it('rt.files.list of a missing directory comes back as an error body (the SDK does not throw on JSON)', async () => {
      await expect(w.rt.files.list({ dirPath: `${dir}/nope` })).rejects.toMatchObject({ status: 404 });
    });

    it('rt.files.stream yields entries only', async () => {
      const seen: string[] = [];
      for await (const entry of w.rt.files.stream({ dirPath: dir, light: true })) seen.push(path.relative(dir, entry.path));
      expect(seen.sort()).toEqual(['README.md', 'img.png', 'src', 'src/auth.controller.ts', 'src/main.go']);
    });

    it('rt.files.stream without a path lists / (what the CLI sends), and can be broken off', async () => {
      let n = 0;
      for await (const entry of w.rt.files.stream({ light: true, maxDepth: 1 })) {
        expect(entry.path.startsWith('/')).toBe(true);
        if (++n === 3) break;
      }
      expect(n).toBe(3);
    });

    it('rt.search.files', async () => {
      const result = await w.rt.search.files({
        query: 'controller',
        path: dir,
        maxResults: 50,
        caseSensitive: false,
        includeHidden: false,
      });
      expect(result).toMatchObject({ success: true, query: 'controller', path: dir, files: ['src/auth.controller.ts'], total_files: 1 });
    });
  },
);
