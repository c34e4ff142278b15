import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAgentEvents } from '@cove/protocol';
import { afterEach, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/cove.js', import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-cli-'));
  dirs.push(dir);
  return dir;
}

function run(args: string[], env: Record<string, string> = {}) {
  const { COVE_AGENT_TOKEN: _drop, ...base } = process.env;
  const child = spawn(process.execPath, [bin, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const ready = parseAgentEvents(stdout).events.find((e) => e.type === 'ready');
      if (ready?.type === 'ready') resolve(ready.url);
    });
    child.on('exit', () => reject(new Error(`agent exited: ${stderr}`)));
  });
  ready.catch(() => {
    // Only tests that await `ready` care; the others check the exit code.
  });
  return { child, exited, ready, output: () => ({ stdout, stderr }) };
}

describe('cove agent', () => {
  it('refuses to start without a token, with a clear message', async () => {
    const workdir = await tempDir();
    const p = run(['agent', '--listen', '127.0.0.1:0', '--workdir', workdir]);
    expect(await p.exited).toBe(2);
    expect(p.output().stderr).toContain('no token: set COVE_AGENT_TOKEN or pass --token-file PATH');
  });

  it('refuses a token on the command line', async () => {
    const workdir = await tempDir();
    const p = run(['agent', '--listen', '127.0.0.1:0', '--workdir', workdir, '--token', 'abc']);
    expect(await p.exited).toBe(2);
    expect(p.output().stderr).toContain('--token is not accepted');
  });

  it('prints one ready line, serves with the env token and stops cleanly on SIGTERM', async () => {
    const workdir = await tempDir();
    const p = run(['agent', '--listen', '127.0.0.1:0', '--workdir', workdir], { COVE_AGENT_TOKEN: 's3cret' });
    const url = await p.ready;
    expect(p.output().stdout.trim().split('\n')).toHaveLength(1);
    const ok = await fetch(`${url}/runtime`, { headers: { authorization: 'Bearer s3cret' } });
    expect(ok.status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('re-reads the token file on SIGHUP: the old token stops working at once', async () => {
    const workdir = await tempDir();
    const tokenFile = path.join(workdir, 'token');
    await writeFile(tokenFile, 'first-token\n');
    const p = run(['agent', '--listen', '127.0.0.1:0', '--workdir', workdir, '--token-file', tokenFile]);
    const url = await p.ready;
    const get = (token: string) => fetch(`${url}/runtime`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    expect(await get('first-token')).toBe(200);
    await writeFile(tokenFile, 'second-token\n');
    p.child.kill('SIGHUP');
    await expect.poll(() => get('second-token')).toBe(200);
    expect(await get('first-token')).toBe(401);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('is the agent entry: its help names the environment variable of every flag', async () => {
    const p = run(['agent', '--help']);
    expect(await p.exited).toBe(0);
    const help = p.output().stdout;
    expect(help).toContain('Usage: cove agent [options]');
    for (const env of ['COVE_AGENT_LISTEN', 'COVE_AGENT_WORKDIR', 'COVE_AGENT_TOKEN_FILE', 'COVE_AGENT_ALLOW_ORIGIN', 'COVE_AGENT_TOKEN']) {
      expect(help).toContain(env);
    }
  });

  it('rejects a workdir that is not a directory', async () => {
    const p = run(['agent', '--listen', '127.0.0.1:0', '--workdir', '/no/such/dir'], { COVE_AGENT_TOKEN: 'x' });
    expect(await p.exited).toBe(2);
    expect(p.output().stderr).toContain('is not a directory');
  });
});
