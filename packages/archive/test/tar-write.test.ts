// Writing an archive with GNU tar: the paths asked for minus those left out, its size and sha256 those of the
// file written, and a path that does not exist a `bad_request` naming it as the workspace sees it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTar } from '../src/index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'cove-archive-write-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const root = path.join(work, 'root');
mkdirSync(path.join(root, 'app/cache'), { recursive: true });
writeFileSync(path.join(root, 'app/main'), 'main\n');
writeFileSync(path.join(root, 'app/cache/big'), 'cache\n');
writeFileSync(path.join(root, 'other'), 'other\n');

describe('writeTar', () => {
  for (const format of ['tar.gz', 'tar.zst'] as const) {
    it(`writes ${format}: the names asked for minus the exclusions, with the file's size and sha256`, async () => {
      const target = path.join(work, `out.${format}`);
      const written = await writeTar({ root, target, format, names: ['./app'], excludes: ['./app/cache'], vmPath: (n) => n });
      const bytes = readFileSync(target);
      expect(written).toEqual({ sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
      const listed = execFileSync('tar', ['--list', `--file=${target}`], { encoding: 'utf8' })
        .trim()
        .split('\n');
      expect(listed.sort()).toEqual(['./app/', './app/main']);
    });
  }

  it('a missing path is bad_request as the workspace names it, and nothing is left', async () => {
    const target = path.join(work, 'missing.tar.gz');
    await expect(
      writeTar({ root, target, format: 'tar.gz', names: ['./app', './nope'], excludes: [], vmPath: (n) => `/home${n.slice(1)}` }),
    ).rejects.toMatchObject({ code: 'bad_request', message: "vm_paths: '/home/nope' does not exist in the workspace" });
    expect(existsSync(target)).toBe(false);
  });
});
