// `cove ws create --from-archive FILE`: an archive downloaded with `cove archive get` becomes a new workspace
// (uploaded, then named by the create); a hostile file is refused with the server's reason.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarOf } from '../../api/test/helpers/tar-build.js';
import { type Stack, startStack } from './helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read parsed JSON field by field and assert on it
const json = (stdout: Buffer): any => JSON.parse(stdout.toString());

describe('cove ws create --from-archive', () => {
  it('creates a workspace from a downloaded archive file; refuses a hostile one', { timeout: 120_000 }, async () => {
    const dir = await stack.tempDir();
    const source = await stack.run(['ws', 'create', '--name', 'arch-src', '--public-access', '--json']);
    expect(source.code, source.stderr).toBe(0);
    const made = await stack.run(['exec', 'arch-src', '--', 'sh', '-c', 'mkdir -p ~/proj && echo carried > ~/proj/x && cd && pwd']);
    expect(made.code, made.stderr).toBe(0);
    const home = made.stdout.toString().trim();
    const archived = await stack.run(['archive', 'create', 'arch-src', '--path', `${home}/proj`, '--json']);
    expect(archived.code, archived.stderr).toBe(0);
    const version = json(archived.stdout).version as string;
    const file = path.join(dir, 'arch-src.tar.zst');
    const got = await stack.run(['archive', 'get', 'arch-src', version, '-o', file]);
    expect(got.code, got.stderr).toBe(0);

    const copy = await stack.run(['ws', 'create', '--name', 'arch-copy', '--public-access', '--from-archive', file, '--json']);
    expect(copy.code, copy.stderr).toBe(0);
    expect(json(copy.stdout).name).toBe('arch-copy');
    const read = await stack.run(['exec', 'arch-copy', '--', 'sh', '-c', 'cat ~/proj/x']);
    expect(read.stdout.toString()).toBe('carried\n');

    const evil = path.join(dir, 'evil.tar');
    await writeFile(evil, tarOf([{ name: '../../escape', data: 'x' }]));
    const refused = await stack.run(['ws', 'create', '--name', 'arch-evil', '--from-archive', evil]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/leaves the directory/);
    const missing = await stack.run(['ws', 'create', '--from-archive', path.join(dir, 'nope.tar')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/is not a file/);
    const names = json((await stack.run(['ws', 'list', '--json'])).stdout).map((w: { name: string }) => w.name);
    expect(names).not.toContain('arch-evil');
  });
});
