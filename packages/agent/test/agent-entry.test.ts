// The agent's own entry (bin/cove-agent.js, built), run as the drivers run it: its lifecycle messages on stdout,
// SIGHUP after the token file is rewritten, and its environment variables.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AGENT_BIN } from '@cove/agent/main';
import { type AgentLifecycleEvent, parseAgentEvents } from '@cove/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-agent-entry-'));
  dirs.push(dir);
  return dir;
}

/** Runs the agent's entry; `next()` resolves to its next lifecycle message (in order, none missed). */
function start(args: string[], env: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('COVE_')));
  const child = spawn(process.execPath, [AGENT_BIN, ...args], {
    env: { ...base, COVE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  let partial = '';
  const events: AgentLifecycleEvent[] = [];
  const waiting: Array<(e: AgentLifecycleEvent) => void> = [];
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d;
    const parsed = parseAgentEvents(partial + d);
    partial = parsed.rest;
    for (const event of parsed.events) {
      const waiter = waiting.shift();
      if (waiter) waiter(event);
      else events.push(event);
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const next = () =>
    new Promise<AgentLifecycleEvent>((resolve, reject) => {
      const queued = events.shift();
      if (queued) return resolve(queued);
      waiting.push(resolve);
      exited.then(() => reject(new Error(`agent exited: ${stderr}`)));
    });
  return { child, next, exited, output: () => ({ stdout, stderr }) };
}

async function readyOf(agent: ReturnType<typeof start>) {
  const event = await agent.next();
  if (event.type !== 'ready') throw new Error(`expected ready, got ${JSON.stringify(event)}`);
  return event;
}

const status = (url: string, token: string) =>
  fetch(`${url}/runtime`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

describe('the agent entry', () => {
  it('says it is ready, then confirms each SIGHUP: reloaded, or failed with the previous token kept', async () => {
    const workdir = await tempDir();
    const tokenFile = path.join(workdir, 'token');
    await writeFile(tokenFile, 'first-token\n');
    const agent = start(['--listen', '127.0.0.1:0', '--workdir', workdir, '--token-file', tokenFile]);

    const ready = await readyOf(agent);
    expect(ready).toEqual({
      type: 'ready',
      url: `http://127.0.0.1:${ready.port}`,
      listen: `127.0.0.1:${ready.port}`,
      port: ready.port,
      workdir,
      pid: agent.child.pid,
      version: expect.any(String),
    });
    expect(ready.port).toBeGreaterThan(0);
    expect(await status(ready.url, 'first-token')).toBe(200);

    await writeFile(tokenFile, 'second-token\n');
    agent.child.kill('SIGHUP');
    expect(await agent.next()).toEqual({ type: 'token-reloaded' });
    // Once the message is out, the old token is refused: no polling needed.
    expect(await status(ready.url, 'first-token')).toBe(401);
    expect(await status(ready.url, 'second-token')).toBe(200);

    await writeFile(tokenFile, '\n');
    agent.child.kill('SIGHUP');
    expect(await agent.next()).toEqual({ type: 'token-reload-failed', error: `token file ${tokenFile} is empty` });
    expect(await status(ready.url, 'second-token')).toBe(200);

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    // stdout carries the lifecycle messages and nothing else.
    expect(agent.output().stdout.trim().split('\n')).toHaveLength(3);
  });

  it('answers SIGHUP with a failure when its token came from the environment', async () => {
    const workdir = await tempDir();
    const agent = start(['--listen', '127.0.0.1:0', '--workdir', workdir], { COVE_AGENT_TOKEN: 'env-token' });
    const ready = await readyOf(agent);
    agent.child.kill('SIGHUP');
    expect(await agent.next()).toEqual({ type: 'token-reload-failed', error: 'the token comes from COVE_AGENT_TOKEN, not a file' });
    expect(await status(ready.url, 'env-token')).toBe(200);
  });

  it('takes each setting from its environment variable, a flag winning over it, and drops COVE_AGENT_TOKEN', async () => {
    const workdir = await tempDir();
    const other = await tempDir();
    const tokenFile = path.join(workdir, 'token');
    await writeFile(tokenFile, 'file-token\n');
    const agent = start(['--workdir', workdir], {
      COVE_AGENT_LISTEN: '127.0.0.1:0',
      COVE_AGENT_WORKDIR: other,
      COVE_AGENT_TOKEN_FILE: tokenFile,
      // The file wins; the variable is still removed from what commands inherit.
      COVE_AGENT_TOKEN: 'env-token',
    });
    const ready = await readyOf(agent);
    expect(ready.listen).toBe(`127.0.0.1:${ready.port}`);
    expect(ready.workdir).toBe(workdir);
    expect(await status(ready.url, 'env-token')).toBe(401);
    const res = await fetch(`${ready.url}/exec`, {
      method: 'POST',
      headers: { authorization: 'Bearer file-token', 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['sh', '-c', 'printenv COVE_AGENT_TOKEN; echo "absent=$? file=$COVE_AGENT_TOKEN_FILE"'] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { stdout: string }).stdout).toBe(`absent=1 file=${tokenFile}\n`);
  });

  it('prints its help, naming the environment variable of every flag, without starting', async () => {
    const agent = start(['--help']);
    expect(await agent.exited).toBe(0);
    const help = agent.output().stdout;
    expect(help).toContain('Usage: cove-agent [options]');
    for (const [flag, env] of [
      ['--listen <host:port>', 'COVE_AGENT_LISTEN'],
      ['--workdir <dir>', 'COVE_AGENT_WORKDIR'],
      ['--token-file <path>', 'COVE_AGENT_TOKEN_FILE'],
      ['--allow-origin <origin...>', 'COVE_AGENT_ALLOW_ORIGIN'],
    ] as const) {
      expect(help).toMatch(new RegExp(`${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\\n\\s+env: ${env}\\n`));
    }
    expect(help).toContain('COVE_AGENT_TOKEN ');
  });

  it('exits 2 with one line for a usage error, and 1 when it cannot listen', async () => {
    const workdir = await tempDir();
    const unknown = start(['--bogus'], { COVE_AGENT_TOKEN: 'x' });
    expect(await unknown.exited).toBe(2);
    expect(unknown.output().stderr).toBe("cove-agent: unknown option '--bogus' (see --help)\n");

    const first = start(['--listen', '127.0.0.1:0', '--workdir', workdir], { COVE_AGENT_TOKEN: 'x' });
    const { port } = await readyOf(first);
    const second = start(['--listen', `127.0.0.1:${port}`, '--workdir', workdir], { COVE_AGENT_TOKEN: 'x' });
    expect(await second.exited).toBe(1);
    expect(second.output().stderr).toContain(`cove-agent: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });
  it('loads on first use what a start does not need: a transfer (tar, zlib) and /ws (ws) work in the built agent', async () => {
    const workdir = await tempDir();
    await writeFile(path.join(workdir, 'a.txt'), 'hello');
    const agent = start(['--listen', '127.0.0.1:0', '--workdir', workdir], { COVE_AGENT_TOKEN: 'lazy-token' });
    const ready = await readyOf(agent);
    const auth = { authorization: 'Bearer lazy-token' };

    const download = await fetch(`${ready.url}/files/transfer/download`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ paths: [path.join(workdir, 'a.txt')] }),
    });
    expect(download.status).toBe(200);
    const archive = Buffer.from(await download.arrayBuffer());
    // gzip's magic number: node-tar and zlib were loaded for it.
    expect([...archive.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    const upload = await fetch(`${ready.url}/files/transfer/upload?dest=${encodeURIComponent(path.join(workdir, 'copy'))}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/gzip' },
      body: archive,
    });
    expect(upload.status).toBe(200);

    // Two clients at once: the first upgrade loads ws, the second arrives while it may still be loading.
    const open = () =>
      new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(`${ready.url.replace('http', 'ws')}/ws`, { headers: auth });
        ws.once('open', () => {
          ws.close();
          resolve('open');
        });
        ws.once('error', reject);
      });
    expect(await Promise.all([open(), open()])).toEqual(['open', 'open']);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });
});
