import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bundledCopyStep, createSearchDomain, type InstallStep, type SearchDomainOptions } from '../../src/search/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { qs } from './helpers.js';

const realRg = execFileSync('sh', ['-c', 'command -v rg']).toString().trim();
const realVersion = execFileSync(realRg, ['--version']).toString().split('\n')[0]?.trim();
const NOT_INSTALLED = 'ripgrep is not installed - use POST /files/search/init to install';

let tmp: string;
let agents: TestAgent[] = [];

beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'cove-rg-init-')));
});
afterEach(async () => {
  for (const a of agents) await a.close();
  agents = [];
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function agentWith(options: SearchDomainOptions): Promise<TestAgent> {
  const a = await startTestAgent({ domains: [createSearchDomain(options)] });
  agents.push(a);
  return a;
}

/** A fresh directory for one test's "install target". */
async function scratch(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('GET /files/search/init', () => {
  it('reports an installed ripgrep with its path and version', async () => {
    const a = await agentWith({});
    const { status, body } = await a.json('GET', '/files/search/init');
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, installed: true, path: realRg, version: realVersion });
    expect(realVersion).toMatch(/^ripgrep \d+\.\d+\.\d+/);
  });

  it('reports a missing ripgrep with the reference message', async () => {
    const dir = await scratch('missing');
    const a = await agentWith({ rgCandidates: () => [path.join(dir, 'rg')] });
    const { status, body } = await a.json('GET', '/files/search/init');
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, installed: false, message: NOT_INSTALLED });
  });

  it('does not take any executable called rg for ripgrep', async () => {
    const dir = await scratch('impostor');
    await writeFile(path.join(dir, 'rg'), '#!/bin/sh\necho "not ripgrep"\n');
    await chmod(path.join(dir, 'rg'), 0o755);
    const a = await agentWith({ rgCandidates: () => [path.join(dir, 'rg'), realRg] });
    const { body } = await a.json('GET', '/files/search/init');
    expect(body).toMatchObject({ installed: true, path: realRg });
  });
});

describe('POST /files/search/init', () => {
  it('returns the current installation without reinstalling', async () => {
    const ran: string[] = [];
    const never: InstallStep = {
      name: 'never',
      run: async () => {
        ran.push('never');
        return 'x';
      },
    };
    const a = await agentWith({ installSteps: [never] });
    const { status, body } = await a.json('POST', '/files/search/init');
    expect(status).toBe(200);
    expect(body).toEqual({
      success: true,
      installed: true,
      path: realRg,
      version: realVersion,
      method: 'already_installed',
      message: 'ripgrep is already installed',
    });
    expect(ran).toEqual([]);
  });

  it('installs the copy the agent ships, and content search then works', async () => {
    const bundle = await scratch('bundle');
    await copyFile(realRg, path.join(bundle, 'rg'));
    await chmod(path.join(bundle, 'rg'), 0o755);
    const target = path.join(await scratch('target'), 'bin', 'rg');
    const a = await agentWith({
      rgCandidates: () => [target],
      installSteps: [bundledCopyStep({ dirs: [path.join(tmp, 'nowhere'), bundle], target })],
    });

    const search = () => a.json('GET', `/files/search${qs({ q: 'hello', path: a.workdir })}`);
    expect((await search()).status).toBe(503);

    // An empty JSON body is what the official SDK sends.
    const { status, body } = await a.json('POST', '/files/search/init', { body: '', headers: { 'content-type': 'application/json' } });
    expect(status).toBe(200);
    expect(body).toEqual({
      success: true,
      installed: true,
      path: target,
      version: realVersion,
      method: 'bundled',
      message: `copied ${path.join(bundle, 'rg')} to ${target}`,
    });
    expect((await a.json('GET', '/files/search/init')).body).toEqual({
      success: true,
      installed: true,
      path: target,
      version: realVersion,
    });

    await writeFile(path.join(a.workdir, 'h.txt'), 'hello\n');
    const found = await search();
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ total_matches: 1, results: { 'h.txt': [{ line: 1, column: 1, text: 'hello' }] } });

    const again = await a.json('POST', '/files/search/init');
    expect(again.body).toMatchObject({ method: 'already_installed', path: target });
  });

  it('answers 409 install_in_progress while an install runs', async () => {
    const dir = await scratch('busy');
    let release: (err?: Error) => void = () => {};
    let started = false;
    const slow: InstallStep = {
      name: 'slow',
      run: () =>
        new Promise<string>((resolve, reject) => {
          started = true;
          release = (err) => (err ? reject(err) : resolve('done'));
        }),
    };
    const a = await agentWith({ rgCandidates: () => [path.join(dir, 'rg')], installSteps: [slow] });
    const first = a.json('POST', '/files/search/init');
    await vi.waitFor(() => expect(started).toBe(true));

    const second = await a.json('POST', '/files/search/init');
    expect(second.status).toBe(409);
    expect(second.body).toEqual({ success: false, error: 'a ripgrep installation is already in progress', code: 'install_in_progress' });
    const status = await a.json('GET', '/files/search/init');
    expect(status.body).toEqual({ success: true, installed: false, message: NOT_INSTALLED, installing: true });

    release(new Error('mirror unreachable'));
    const done = await first;
    expect(done.status).toBe(503);
    expect(done.body).toEqual({
      success: false,
      error: 'ripgrep could not be installed (slow: mirror unreachable)',
      code: 'install_failed',
    });

    // The lock is released: a new attempt runs (and fails the same way).
    started = false;
    const retry = a.json('POST', '/files/search/init');
    await vi.waitFor(() => expect(started).toBe(true));
    release(new Error('still unreachable'));
    expect((await retry).status).toBe(503);
  });

  it('reports every way it tried when none works', async () => {
    const dir = await scratch('none');
    const target = path.join(dir, 'rg');
    const a = await agentWith({
      rgCandidates: () => [target],
      installSteps: [
        bundledCopyStep({ dirs: [path.join(dir, 'empty')], target }),
        { name: 'apt-get', run: async () => Promise.reject(new Error('apt-get is not available')) },
        { name: 'noop', run: async () => 'did nothing' },
      ],
    });
    const { status, body } = await a.json('POST', '/files/search/init');
    expect(status).toBe(503);
    expect(body).toEqual({
      success: false,
      code: 'install_failed',
      error:
        `ripgrep could not be installed (bundled: no rg binary shipped with the agent (looked in ${path.join(dir, 'empty')}); ` +
        'apt-get: apt-get is not available; noop: finished, but no working rg is where the agent looks for it)',
    });
  });

  it('says so when no install method is configured', async () => {
    const dir = await scratch('nomethod');
    const a = await agentWith({ rgCandidates: () => [path.join(dir, 'rg')], installSteps: [] });
    const { status, body } = await a.json('POST', '/files/search/init');
    expect(status).toBe(503);
    expect(body).toMatchObject({ code: 'install_failed', error: 'ripgrep could not be installed (no install method is configured)' });
  });

  it('answers 405 for other methods', async () => {
    const a = await agentWith({});
    const res = await a.json('DELETE', '/files/search/init');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });
});
