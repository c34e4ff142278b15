// Black-box: the official `oblien` SDK (2.4.0) drives Cove's files and transfer endpoints, on each driver
// (see openOfficialWorkspace); the host checks the workspace's files behind the API's back.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeOnEachDriver } from './helpers/official-runtime.js';

const SLOT = 23;

describeOnEachDriver(
  SLOT,
  (variant) => `official SDK against ${variant.title}`,
  (w) => {
    describe('rt.files', () => {
      it('writes, reads (whole and ranged), stats and deletes a file', async () => {
        const file = path.join(w.workdir, 'app', 'src', 'hello.go');
        const written = await w.rt.files.write({ fullPath: file, content: 'package main\n\nfunc main() {}\n', createDirs: true });
        expect(written).toEqual({ success: true, path: file, size: 29 });

        const whole = await w.rt.files.read({ filePath: file });
        expect(whole).toEqual({
          success: true,
          path: file,
          content: 'package main\n\nfunc main() {}\n',
          size: 29,
          lines: 3,
          extension: '.go',
        });

        const ranged = await w.rt.files.read({ filePath: file, startLine: 3, endLine: 3, withLineNumbers: true });
        expect(ranged).toMatchObject({ content: '3\tfunc main() {}\n', lines: 1, start_line: 3, end_line: 3 });

        await w.rt.files.write({ fullPath: file, content: '// more\n', append: true });
        expect(await readFile(w.hostPath(file), 'utf8')).toBe('package main\n\nfunc main() {}\n// more\n');

        const info = await w.rt.files.stat({ path: file });
        expect(info).toMatchObject({
          success: true,
          path: file,
          name: 'hello.go',
          type: 'file',
          size: 37,
          permissions: '0644',
          is_code: true,
          extension: '.go',
        });
        expect(info.modified).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

        expect(await w.rt.files.delete({ path: file })).toEqual({ success: true, path: file });
        await expect(stat(w.hostPath(file))).rejects.toThrow();
      });

      it('creates directories with a mode', async () => {
        const dir = path.join(w.workdir, 'made', 'deep');
        expect(await w.rt.files.mkdir({ path: dir, mode: '0700' })).toEqual({ success: true, path: dir });
        expect((await stat(w.hostPath(dir))).mode & 0o777).toBe(0o700);
      });

      it('surfaces errors the way the SDK reports them (success:false bodies throw)', async () => {
        await expect(w.rt.files.read({ filePath: path.join(w.workdir, 'missing.txt') })).rejects.toMatchObject({ status: 404 });
        await expect(w.rt.files.write({ fullPath: path.join(w.workdir, 'no', 'parent.txt'), content: 'x' })).rejects.toMatchObject({
          status: 404,
        });
        await expect(w.rt.files.write({ fullPath: path.join(w.workdir, 'x.txt'), content: 'x', mode: 'abc' })).rejects.toMatchObject({
          status: 400,
        });
      });
    });

    describe('rt.transfer', () => {
      it('downloads a tar.gz the system tar can extract (CLI pull)', async () => {
        const src = path.join(w.workdir, 'proj');
        await mkdir(w.hostPath(path.join(src, 'node_modules')), { recursive: true });
        await writeFile(w.hostPath(path.join(src, 'main.ts')), 'export {};\n');
        await writeFile(w.hostPath(path.join(src, 'node_modules', 'x.js')), 'x');
        const res = await w.rt.transfer.download({ paths: [src], excludePatterns: ['node_modules'] });
        expect(res.status).toBe(200);
        const archive = Buffer.from(await res.arrayBuffer());
        const listing = execFileSync('tar', ['-tzf', '-'], { input: archive }).toString().split('\n').filter(Boolean).sort();
        expect(listing).toEqual(['proj/', 'proj/main.ts']);
      });

      it('uploads a tar.gz and extracts it into dest (CLI push)', async () => {
        const local = await mkdtemp(path.join(os.tmpdir(), 'cove-compat-local-'));
        await writeFile(path.join(local, 'a.txt'), 'A');
        const archive = execFileSync('tar', ['-czf', '-', '-C', local, '.']);
        const dest = path.join(w.workdir, 'pushed');
        const result = await w.rt.transfer.upload({ body: new Uint8Array(archive), dest });
        expect(result).toEqual({ success: true, dest, files_extracted: 2 });
        expect(await readFile(w.hostPath(path.join(dest, 'a.txt')), 'utf8')).toBe('A');
        await rm(local, { recursive: true, force: true });
      });
    });
  },
);
