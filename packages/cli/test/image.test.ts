// `cove image pull|import|ls|inspect|rm|build`, run as users run them, against a control plane on the sandbox
// driver with its real image store (a temporary images directory) and a registry on loopback.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../api/test/helpers/control-plane.js';
import { type DriverVariant, driverVariants, startTestStack, type TestStack } from '../../api/test/helpers/driver-stack.js';
import { makeTestImages, type TestImages } from '../../api/test/helpers/test-images.js';
import { type RunOptions, runCove } from './helpers/stack.js';

const SLOT = 51;
const sandbox = driverVariants().find((v) => v.kind === 'sandbox') as DriverVariant;

// biome-ignore lint/suspicious/noExplicitAny: tests read parsed JSON field by field and assert on it
type Json = any;
const lines = (stdout: Buffer): Json[] =>
  stdout
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe.skipIf(sandbox.skip)(`cove image (${sandbox.title})`, () => {
  let s: TestStack;
  let images: TestImages;
  let imagesDir: string;
  let operator: Client;

  /** `cove ARGS…` as the operator account (`default`), or as `client`. */
  const cove = (args: string[], options: RunOptions & { as?: Client } = {}) => {
    const who = options.as ?? operator;
    return runCove(args, {
      ...options,
      env: { COVE_API_URL: s.url, COVE_CLIENT_ID: who.clientId, COVE_CLIENT_SECRET: who.clientSecret, ...options.env },
    });
  };

  beforeAll(async () => {
    images = await makeTestImages();
    imagesDir = path.join(images.dir, 'store');
    s = await startTestStack('sandbox', SLOT, { imagesDir });
    operator = await s.newClient('default');
  }, 300_000);
  afterAll(async () => {
    await s?.close();
    await images?.close();
  }, 120_000);

  it('pull: the result on stdout; --json: the steps then the result as JSON lines; bad input exits 1 or 2', async () => {
    const ref = await images.push('cli/app:1');
    const plain = await cove(['image', 'pull', ref]);
    expect(plain.stderr).toBe('');
    expect(plain.code).toBe(0);
    expect(plain.stdout.toString()).toMatch(new RegExp(`^${ref.replace(/[.]/g, '\\.')} [a-f0-9]{12}\\n$`));

    const json = await cove(['image', 'pull', await images.push('cli/json:1'), '--json']);
    expect(json.code).toBe(0);
    const out = lines(json.stdout);
    expect(out.at(-1)).toMatchObject({ success: true, image: { source: 'pulled', name: `${images.registry.host}/cli/json:1` } });
    expect(out.slice(0, -1).every((p) => typeof p.phase === 'string' && typeof p.message === 'string')).toBe(true);

    const bad = await cove(['image', 'pull', '../etc']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^cove: invalid image reference '\.\.\/etc'.*\(400 bad_request\)\n$/);
    const missing = await cove(['image', 'pull', `${images.registry.host}/cli/none:1`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\(404 not_found\)\n$/);
    const half = await cove(['image', 'pull', ref, '--username', 'me']);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/--username and --password/);
  });

  it('pull with credentials from stdin (--password-stdin)', async () => {
    const ref = await images.push('cli/creds:1');
    // The test registry asks for no credentials: they are passed along and the pull succeeds.
    const res = await cove(['image', 'pull', ref, '--username', 'me', '--password-stdin'], { input: 's3cret\n' });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
  });

  it('import a docker save archive and an OCI layout directory; non-operators are refused', async () => {
    const archive = await cove(['image', 'import', await images.dockerArchive('cli/saved:3')]);
    expect(archive.stderr).toBe('');
    expect(archive.code).toBe(0);
    expect(archive.stdout.toString()).toMatch(/^docker\.io\/cli\/saved:3 [a-f0-9]{12}\n$/);

    const dir = await cove(['image', 'import', images.layout, '--name', 'cli/layout:1', '--json']);
    expect(dir.code, dir.stderr).toBe(0);
    expect(JSON.parse(dir.stdout.toString())).toEqual([expect.objectContaining({ image: 'cli/layout:1', source: 'imported' })]);

    const alice = await cove(['image', 'import', images.layout, '--name', 'cli/nope:1'], { as: s.client });
    expect(alice.code).toBe(1);
    expect(alice.stderr).toMatch(/operator accounts.*\(403 forbidden\)/);
    const missingFile = await cove(['image', 'import', path.join(images.dir, 'absent.tar')]);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toMatch(/absent\.tar/);
  });

  it('ls, inspect and rm', async () => {
    const ref = await images.push('cli/listed:1');
    expect((await cove(['image', 'pull', ref])).code).toBe(0);
    const table = await cove(['image', 'ls']);
    expect(table.code).toBe(0);
    expect(table.stdout.toString()).toMatch(/^IMAGE +ID +SOURCE +CATEGORY +LAYERS +SIZE +CREATED\n/);
    expect(table.stdout.toString()).toContain(ref);
    const listed = JSON.parse((await cove(['image', 'ls', '--json', '--search', 'cli/listed'])).stdout.toString());
    expect(listed.map((i: Json) => i.image)).toEqual([ref]);
    const inspected = JSON.parse((await cove(['image', 'inspect', ref, '--json'])).stdout.toString());
    expect(inspected).toMatchObject({ image: ref, config: { working_dir: '/srv/app' } });
    const fields = await cove(['image', 'inspect', ref]);
    expect(fields.stdout.toString()).toMatch(/workdir: +\/srv\/app/);

    const removed = await cove(['image', 'rm', ref]);
    expect(removed.stdout.toString()).toBe(`removed ${ref}\n`);
    const again = await cove(['image', 'rm', ref]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\(404 not_found\)/);
  });

  it('build: a Dockerfile into the store on this host, from a base it pulls; workspaces are created from it', {
    timeout: 300_000,
  }, async () => {
    const base = await images.push('cli/base:1');
    const context = path.join(images.dir, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(
      path.join(context, 'Dockerfile'),
      `FROM ${base}\nARG WHO=nobody\nCOPY note.txt /srv/app/note.txt\nRUN echo "built for $WHO" > /srv/app/built.txt\nENV BUILT=1\n`,
    );
    await writeFile(path.join(context, 'note.txt'), 'copied\n');
    const built = await cove(['image', 'build', '-t', 'cli/built:1', '--build-arg', 'WHO=cove', '--images-dir', imagesDir, context]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout.toString()).toMatch(/^docker\.io\/cli\/built:1 [a-f0-9]{12}\n$/);
    // The server sees it at once (one store), as built.
    const image = JSON.parse((await cove(['image', 'inspect', 'cli/built:1', '--json'])).stdout.toString());
    expect(image, JSON.stringify(image)).toMatchObject({ source: 'built', config: { env: expect.arrayContaining(['BUILT=1']) } });

    const ws = JSON.parse(
      (await cove(['ws', 'create', '--image', 'cli/built:1', '--memory', '512', '--disk', '256', '--json'])).stdout.toString(),
    );
    expect(ws).toMatchObject({ status: 'running', image: 'cli/built:1' });
    expect(await import('node:fs/promises').then((f) => f.readFile(s.hostPath(ws.id, '/srv/app/built.txt'), 'utf8'))).toBe(
      'built for cove\n',
    );

    const usage = await cove(['image', 'build', '-t', 'x:1', '--build-arg', 'novalue', context]);
    expect(usage.code).toBe(2);
  });
});
