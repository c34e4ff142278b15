// `cove cp`, `ls`, `cat`, `rm`, `search`, `find` and `watch` against a real workspace.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers/stack.js';

let stack: Stack;
let ws: string;

beforeAll(async () => {
  stack = await startStack();
  const created = await stack.run(['ws', 'create', '--name', 'cli-files', '--public-access', '--json']);
  if (created.code !== 0) throw new Error(`create failed: ${created.stderr}`);
  ws = JSON.parse(created.stdout.toString()).id;
});
afterAll(async () => {
  await stack?.close();
});

async function ok(args: string[]) {
  const res = await stack.run(args);
  if (res.code !== 0) throw new Error(`cove ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
  return res;
}

/** Every file under `dir` with its bytes, by relative path. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full)] = (await readFile(full)).toString('base64');
  }
  return out;
}

describe('cove cp', () => {
  it('a binary file up and back, byte for byte, keeping its mode', { timeout: 60_000 }, async () => {
    const local = await stack.tempDir();
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(path.join(local, 'blob.bin'), bytes);
    await chmod(path.join(local, 'blob.bin'), 0o750);

    const up = await ok(['cp', path.join(local, 'blob.bin'), `${ws}:/tmp/cove-cli-${ws}/`, '--json']);
    expect(JSON.parse(up.stdout.toString())).toEqual({
      source: path.join(local, 'blob.bin'),
      destination: `${ws}:/tmp/cove-cli-${ws}/blob.bin`,
      type: 'file',
      bytes: bytes.length,
    });

    await ok(['cp', `cli-files:/tmp/cove-cli-${ws}/blob.bin`, path.join(local, 'back.bin')]);
    expect((await readFile(path.join(local, 'back.bin'))).equals(bytes)).toBe(true);
    expect((await stat(path.join(local, 'back.bin'))).mode & 0o777).toBe(0o750);

    // Into an existing local directory: keeps the name.
    const into = path.join(local, 'into');
    await mkdir(into);
    await ok(['cp', `${ws}:/tmp/cove-cli-${ws}/blob.bin`, into]);
    expect((await readFile(path.join(into, 'blob.bin'))).equals(bytes)).toBe(true);
    await ok(['exec', ws, '--', 'rm', '-rf', `/tmp/cove-cli-${ws}`]);
  });

  it('a directory up and back (tar.gz transfer), both directions, into new and existing paths', { timeout: 60_000 }, async () => {
    const local = await stack.tempDir();
    const src = path.join(local, 'project');
    await mkdir(path.join(src, 'sub', 'deeper'), { recursive: true });
    await writeFile(path.join(src, 'a.bin'), randomBytes(70_000));
    await writeFile(path.join(src, 'sub', 'b.txt'), 'hello\n');
    await writeFile(path.join(src, 'sub', 'deeper', 'c.bin'), Buffer.from([0, 1, 2, 255]));
    const expected = await tree(src);

    // A new remote path becomes a copy of the directory.
    await ok(['cp', src, `${ws}:copy`]);
    const listed = await ok(['ls', ws, 'copy', '-R', '--json']);
    expect(
      JSON.parse(listed.stdout.toString())
        .entries.map((e: { path: string }) => path.posix.basename(e.path))
        .sort(),
    ).toEqual(['a.bin', 'b.txt', 'c.bin', 'deeper', 'sub']);
    // An existing remote directory receives it under its own name.
    await ok(['cp', src, `${ws}:copy`]);
    expect((await ok(['ls', ws, 'copy'])).stdout.toString()).toBe('a.bin\nproject/\nsub/\n');

    // Back down: to a new local path, then into an existing one.
    await ok(['cp', `${ws}:copy/project`, path.join(local, 'down')]);
    expect(await tree(path.join(local, 'down'))).toEqual(expected);
    const existing = path.join(local, 'existing');
    await mkdir(existing);
    await ok(['cp', `${ws}:copy/project`, existing]);
    expect(await tree(path.join(existing, 'project'))).toEqual(expected);
  });

  it('usage errors and missing sources', async () => {
    const neither = await stack.run(['cp', 'a', 'b']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toBe('cove: one side must be WORKSPACE:PATH (use cp for local copies)\n');
    const missing = await stack.run(['cp', `${ws}:/no/such/file`, '/tmp/x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`cove: ${ws}:/no/such/file: no such file or directory\n`);
    const localMissing = await stack.run(['cp', '/no/such/local', `${ws}:/tmp/`]);
    expect(localMissing.code).toBe(1);
    expect(localMissing.stderr).toBe('cove: /no/such/local: no such file or directory\n');
  });
});

describe('ls, cat, rm, search, find', () => {
  it('work on files in the workspace', { timeout: 60_000 }, async () => {
    await ok([
      'exec',
      ws,
      '--',
      'sh',
      '-c',
      'mkdir -p tree/src && printf "alpha\\nneedle here\\nomega\\n" > tree/src/main.go && printf "x" > tree/.hidden && printf "\\000\\377" > tree/bin.dat',
    ]);

    expect((await ok(['ls', ws, 'tree'])).stdout.toString()).toBe('bin.dat\nsrc/\n');
    expect((await ok(['ls', `${ws}:tree`, '-a'])).stdout.toString()).toBe('.hidden\nbin.dat\nsrc/\n');
    const long = (await ok(['ls', ws, 'tree', '-l'])).stdout.toString();
    expect(long).toMatch(/^TYPE +SIZE +MODIFIED +NAME\nfile +2 B +\S+ +bin\.dat\ndirectory +- +\S+ +src\/\n$/);

    expect((await ok(['cat', ws, 'tree/src/main.go'])).stdout.toString()).toBe('alpha\nneedle here\nomega\n');
    expect([...(await ok(['cat', `${ws}:tree/bin.dat`])).stdout]).toEqual([0, 255]);
    expect((await ok(['cat', ws, 'tree/src/main.go', '--lines', '2:3', '-n'])).stdout.toString()).toBe('2\tneedle here\n3\tomega\n');

    const search = (await ok(['search', ws, 'NEEDLE', 'tree'])).stdout.toString();
    expect(search).toMatch(/^\/.*\/tree\/src\/main\.go:2:1:needle here\n$/);
    const searchJson = JSON.parse((await ok(['search', ws, 'needle', 'tree', '--json'])).stdout.toString());
    expect(searchJson).toMatchObject({ total_matches: 1, total_files: 1, results: { 'src/main.go': [{ line: 2, text: 'needle here' }] } });
    expect((await ok(['search', ws, 'NEEDLE', 'tree', '--case-sensitive'])).stdout.length).toBe(0);

    const found = (await ok(['find', ws, 'main', 'tree'])).stdout.toString();
    expect(found).toMatch(/^\/.*\/tree\/src\/main\.go\n$/);
    expect(JSON.parse((await ok(['find', ws, '.go', 'tree', '--json'])).stdout.toString())).toMatchObject({
      files: ['src/main.go'],
      total_files: 1,
    });

    const notRecursive = await stack.run(['rm', ws, 'tree/src']);
    expect(notRecursive.code).toBe(1);
    expect(notRecursive.stderr).toBe('cove: tree/src: is a directory (use -r)\n');
    await ok(['rm', ws, 'tree/bin.dat']);
    await ok(['rm', '-r', ws, 'tree/src']);
    expect((await ok(['ls', ws, 'tree', '-a'])).stdout.toString()).toBe('.hidden\n');
    const gone = await stack.run(['rm', ws, 'tree/bin.dat']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/\(404 not_found\)\n$/);
    expect((await stack.run(['rm', '-f', ws, 'tree/bin.dat'])).code).toBe(0);
  });
});

describe('cove watch', () => {
  it('prints a change event, then exits after --count', { timeout: 60_000 }, async () => {
    await ok(['exec', ws, '--', 'mkdir', '-p', 'watched']);
    const child = stack.start(['watch', ws, 'watched', '--json', '--count', '1']);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The ready event says the watcher has scanned the tree: changes from now on are seen.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (out.includes('"ready"')) {
          clearInterval(timer);
          resolve();
        }
        if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`watch exited early: ${err}`));
        }
      }, 50);
    });
    await ok(['exec', ws, '--', 'sh', '-c', 'echo hi > watched/new.txt']);
    expect(await exited).toBe(0);
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ channel: 'watcher', type: 'ready' });
    const change = events.find((e) => e.type === 'change');
    expect(change).toMatchObject({ channel: 'watcher', type: 'change' });
    expect(change.path).toMatch(/\/watched\/new\.txt$/);
    expect(['create', 'write']).toContain(change.op);
    expect(err).toBe('');
  });
});
