// `cove api` as a process: ready line, credentials command, SIGTERM stops the agents, a restart restores them.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COVE_BIN } from './helpers/control-plane.js';

const children: ChildProcess[] = [];
let dataDir = '';

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
const body = async (res: Promise<Response>): Promise<any> => (await res).json();

function startApi(): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [COVE_BIN, 'api', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--driver', 'process'], {
    env: { PATH: process.env.PATH ?? '', HOME: dataDir, COVE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /^cove api ready on (http:\/\/\S+) /.exec(out);
      if (m?.[1]) resolve({ child, url: m[1], exited });
    });
    child.on('exit', () => reject(new Error(`cove api exited: ${out}`)));
  });
}

describe('cove api', () => {
  it('serves, stops its agents on SIGTERM and restores running workspaces after a restart', { timeout: 120_000 }, async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'cove-api-cmd-'));
    const created = JSON.parse(
      execFileSync(process.execPath, [COVE_BIN, 'api', 'credentials', 'create', '--owner', 'alice', '--data-dir', dataDir, '--json'], {
        encoding: 'utf8',
      }),
    );
    const headers = { 'x-client-id': created.client_id, 'x-client-secret': created.client_secret, 'content-type': 'application/json' };
    const first = await startApi();
    const ws = await body(fetch(`${first.url}/workspace`, { method: 'POST', headers, body: '{}' }));
    const id = ws.workspace.id as string;
    const enabled = await body(fetch(`${first.url}/workspace/${id}/internal-api-access/enable`, { method: 'POST', headers }));
    const raw = await body(fetch(`${first.url}/workspace/${id}/internal-api-access/token/raw`, { headers }));
    expect(enabled.port).toBe(raw.port);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${raw.port}/health`)).rejects.toThrow();

    const second = await startApi();
    const again = await body(fetch(`${second.url}/workspace/${id}/internal-api-access/token/raw`, { headers }));
    expect(again.token).toBe(raw.token);
    const res = await fetch(`http://127.0.0.1:${again.port}/runtime`, { headers: { authorization: `Bearer ${raw.token}` } });
    expect(res.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const list = execFileSync(process.execPath, [COVE_BIN, 'api', 'credentials', 'list', '--data-dir', dataDir], { encoding: 'utf8' });
    expect(list).toContain(`${created.client_id}\talice\tactive`);
  });
});
