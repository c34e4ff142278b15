// `cove up --runtime X` and `cove api --runtime X` refuse a runtime that is missing or cannot run here at once:
// exit 2, one line on stderr naming what is missing, and nothing created (not even the data directory).
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkRuntime, locateBinary } from '@cove/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { runCove } from './helpers/stack.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-cli-runtime-'));
  dirs.push(dir);
  return dir;
}

/**
 * Runs `cove ARGS…` to its end: a refused runtime exits at once; one wrongly accepted would serve on, so it is
 * stopped after 20 s and the test fails on its exit code rather than hanging.
 */
async function run(args: string[], env: Record<string, string> = {}) {
  const res = await runCove(args, { env: { COVE_LOG_LEVEL: 'warn', ...env }, timeoutMs: 20_000 });
  return { code: res.code, stdout: res.stdout.toString(), stderr: res.stderr };
}

/** `cove up` on a data directory that must not come to exist, on ports nobody else needs. */
async function up(runtime: string, env: Record<string, string> = {}) {
  const dataDir = path.join(await tempDir(), 'data');
  const res = await run(
    ['up', '--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0', '--runtime', runtime],
    env,
  );
  return { ...res, dataDir };
}

/** The contract: exit 2, nothing on stdout, exactly one line on stderr, and no data directory. */
function expectRefused(res: { code: number | null; stdout: string; stderr: string; dataDir: string }, line: RegExp) {
  expect(res.stderr).toMatch(line);
  expect(res.stderr.split('\n')).toHaveLength(2); // one line and its newline
  expect(res.code).toBe(2);
  expect(res.stdout).toBe('');
  expect(existsSync(res.dataDir)).toBe(false);
}

describe('cove up / cove api --runtime: refused before anything starts', () => {
  it('a runtime name that is not on PATH', async () => {
    const res = await up('cove-no-such-runtime');
    expectRefused(
      res,
      /^cove: the OCI runtime 'cove-no-such-runtime' \(--runtime\) cannot be used: cove-no-such-runtime not found on PATH\n$/,
    );
  });

  it('a known runtime that is absent names where to get it (runsc: gVisor, not Debian)', async () => {
    const dir = await tempDir();
    const res = await up(path.join(dir, 'runsc'));
    expectRefused(res, /cannot be used: \S+\/runsc does not exist \(install: gVisor's apt repository .*Debian has none\)\n$/);
  });

  it('a path that is not executable, named by COVE_RUNTIME, for cove api', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'runc');
    await writeFile(file, '#!/bin/sh\nexec runc "$@"\n');
    await chmod(file, 0o644);
    const dataDir = path.join(dir, 'data');
    const res = await run(['api', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], { COVE_RUNTIME: file });
    expectRefused(
      { ...res, dataDir },
      new RegExp(`^cove: the OCI runtime '${file}' \\(COVE_RUNTIME\\) cannot be used: ${file} is not an executable file\\n$`),
    );
  });

  it('an executable without runc’s command line', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'not-a-runtime');
    await writeFile(file, '#!/bin/sh\necho "usage: not-a-runtime [files]"\n', { mode: 0o755 });
    const res = await up(file);
    expectRefused(res, /cannot be used: \S+not-a-runtime lacks runc's commands create, start, kill, delete, state, list\n$/);
  });

  // crun 1.8 refuses a hybrid layout whose v2 hierarchy has controllers; a pure v1 or a v2 host runs it.
  const crun = locateBinary('crun');
  const unified = (() => {
    try {
      return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim();
    } catch {
      return '';
    }
  })();
  const hybrid = !existsSync('/sys/fs/cgroup/cgroup.controllers') && unified !== '';
  const layout = hybrid ? `hybrid (unified: ${unified})` : existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1';
  it.skipIf(!crun)(`crun on this host's cgroup layout, ${layout} (crun is installed by scripts/system-deps.sh)`, async () => {
    if (hybrid) {
      const res = await up('crun');
      expectRefused(
        res,
        /cannot be used: crun refuses this host's hybrid cgroup layout \(controllers in \/sys\/fs\/cgroup\/unified: .*'cgroups in hybrid mode not supported'\)/,
      );
    } else {
      expect(checkRuntime('crun')).toMatchObject({ ok: true, reasons: [], profile: { name: 'crun' } });
    }
  });
});
