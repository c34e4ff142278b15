// `cove exec`: live output on the matching local streams, stdin forwarding, remote exit codes and Ctrl-C.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers/stack.js';

let stack: Stack;
let ws: string;

beforeAll(async () => {
  stack = await startStack();
  const created = await stack.run(['ws', 'create', '--name', 'cli-exec', '--public-access', '--json']);
  if (created.code !== 0) throw new Error(`create failed: ${created.stderr}`);
  ws = JSON.parse(created.stdout.toString()).id;
});
afterAll(async () => {
  await stack?.close();
});

describe('cove exec', () => {
  it('keeps stdout and stderr apart and exits with the remote code', async () => {
    const res = await stack.run(['exec', ws, '--', 'sh', '-c', 'echo out1; echo err1 >&2; echo out2; exit 7']);
    expect(res.stdout.toString()).toBe('out1\nout2\n');
    expect(res.stderr).toBe('err1\n');
    expect(res.code).toBe(7);
  });

  it('exit 0, by workspace name, with a shell pipeline as one string', async () => {
    const res = await stack.run(['exec', 'cli-exec', '--', 'printf "a\\nb\\nc\\n" | wc -l']);
    expect(res.stdout.toString().trim()).toBe('3');
    expect(res.code).toBe(0);
  });

  it('passes binary output through unchanged', async () => {
    const res = await stack.run(['exec', ws, '--', 'sh', '-c', "printf '\\000\\001\\377\\376'"]);
    expect([...res.stdout]).toEqual([0, 1, 255, 254]);
  });

  it('pipes local stdin to the command, byte for byte, and closes it at the end', async () => {
    const input = Buffer.concat([Buffer.from('line one\n'), Buffer.from([0, 255, 10]), randomBytes(1_000_000)]);
    const res = await stack.run(['exec', ws, '--', 'cat'], { input });
    expect(res.code).toBe(0);
    expect(res.stdout.equals(input)).toBe(true);

    // Many chunks, each written before the next is read (local backpressure), all counted remotely.
    const counted = await stack.run(['exec', ws, '--', 'wc', '-c'], { input: randomBytes(1_000_000) });
    expect(counted.code).toBe(0);
    expect(counted.stdout.toString().trim()).toBe('1000000');
  });

  it('--no-stdin gives the command end of input at once', async () => {
    const res = await stack.run(['exec', '-n', ws, '--', 'cat'], { input: 'never sent' });
    expect(res.code).toBe(0);
    expect(res.stdout.length).toBe(0);
  });

  it('--cwd and --env reach the command', async () => {
    const res = await stack.run(['exec', ws, '--cwd', '/tmp', '-e', 'GREETING=hi there', '--', 'sh', '-c', 'pwd; echo "$GREETING"']);
    expect(res.stdout.toString()).toBe('/tmp\nhi there\n');
  });

  it('Ctrl-C (SIGINT) goes to the remote command, whose exit code is ours', async () => {
    const child = stack.start([
      'exec',
      ws,
      '--',
      'sh',
      '-c',
      'trap "echo interrupted; exit 42" INT; echo ready; while :; do sleep 0.1; done',
    ]);
    let out = '';
    const ready = new Promise<void>((resolve) => {
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await ready;
    child.kill('SIGINT');
    expect(await exited).toBe(42);
    expect(out).toBe('ready\ninterrupted\n');
  });

  it('a command that cannot start is a one-line error, exit 255 (not a remote code)', async () => {
    const res = await stack.run(['exec', ws, '--direct', '--', 'no-such-binary-cove']);
    expect(res.code).toBe(255);
    expect(res.stderr).toMatch(/^cove: .+\n$/);
    const unknown = await stack.run(['exec', 'no-such-workspace', '--', 'true']);
    expect(unknown.code).toBe(255);
    expect(unknown.stderr).toBe("cove: no workspace with id or name 'no-such-workspace'\n");
  });

  it('a workspace without public access gets a hint', async () => {
    const dark = JSON.parse((await stack.run(['ws', 'create', '--json'])).stdout.toString()).id;
    const res = await stack.run(['exec', dark, '--', 'true']);
    expect(res.code).toBe(255);
    expect(res.stderr).toContain('cove network set WS --public-access');
  });
});
