// `cove stats`, run as users run it, against a real stack (process driver): one reading as a table or JSON,
// the live stream as JSON lines or tab-separated lines off a terminal, Ctrl-C ends it cleanly.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers/stack.js';

let stack: Stack;
let id: string;

beforeAll(async () => {
  stack = await startStack();
  const created = await stack.run(['ws', 'create', '--name', 'cli-stats', '--json']);
  expect(created.code).toBe(0);
  id = JSON.parse(created.stdout.toString()).id;
  expect((await stack.run(['access', 'enable', id])).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

/** Collects stdout lines until `count` arrived, then interrupts it (Ctrl-C) and resolves to the lines and exit code. */
function linesThenInterrupt(child: ChildProcess, count: number): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    let out = '';
    let stderr = '';
    let sent = false;
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && out.split('\n').length > count) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('close', (code) => resolve({ lines: out.split('\n').filter((l) => l !== ''), code, stderr }));
  });
}

describe('cove stats', () => {
  it('--once --json: one reading per workspace, by name or id', async () => {
    const r = await stack.run(['stats', 'cli-stats', id, '--once', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const samples = JSON.parse(r.stdout.toString());
    expect(samples).toHaveLength(2);
    for (const s of samples) expect(s).toMatchObject({ success: true, workspace_id: id, driver: 'process', source: 'proc' });
    expect(samples[0].processes.current).toBeGreaterThanOrEqual(1);
  });

  it('--once: a table; what the driver cannot read shows as "-"', async () => {
    const r = await stack.run(['stats', 'cli-stats', '--once']);
    expect(r.code).toBe(0);
    const [header, row] = r.stdout.toString().split('\n');
    expect(header).toMatch(/^WORKSPACE +CPU % +CORES +THROTTLED +MEM \/ LIMIT +MEM % +PEAK +OOM +PIDS +DISK \/ SIZE +NET RX \/ TX$/);
    // No limit, no peak, no OOM count, no network of its own: "-", never 0.
    expect(row).toMatch(/^cli-stats +\d+\.\d% +\d+\.\d\d +- +\S+ \S+ \/ none +- +- +- +\d+ +\S+ \S+ \/ - +- \/ -$/);
  });

  it('live: JSON lines with --json, tab-separated lines off a terminal; Ctrl-C exits 0', async () => {
    const json = await linesThenInterrupt(stack.start(['stats', 'cli-stats', '--json']), 2);
    expect(json.code).toBe(0);
    expect(json.lines.length).toBeGreaterThanOrEqual(2);
    for (const line of json.lines.slice(0, 2)) expect(JSON.parse(line)).toMatchObject({ workspace_id: id, status: 'running' });

    const plain = await linesThenInterrupt(stack.start(['stats', 'cli-stats']), 2);
    expect(plain.code).toBe(0);
    expect(plain.lines[0]?.split('\t')[0]).toBe('WORKSPACE');
    expect(plain.lines[1]?.split('\t')).toHaveLength(11);
    expect(plain.lines[1]?.split('\t')[0]).toBe('cli-stats');
  });

  it('errors: an unknown workspace, a stopped one', async () => {
    const unknown = await stack.run(['stats', 'no-such-ws', '--once']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("cove: no workspace with id or name 'no-such-ws'\n");
    const made = JSON.parse((await stack.run(['ws', 'create', '--name', 'cli-stats-stopped', '--json'])).stdout.toString());
    expect((await stack.run(['ws', 'stop', made.id])).code).toBe(0);
    const stopped = await stack.run(['stats', made.id, '--once']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/is stopped; start it to read its stats.*409 conflict/);
  });
});
