import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type ImageProgress, type ImageSummary } from '@cove/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idRangeClaims } from '../src/id-ranges.js';
import { buildCacheUsage, buildImage, pruneBuildCache } from '../src/image-build/build-image.js';
import { BUILD_RUN_DIR, inBuildSandbox, openBuildSandbox } from '../src/image-build/build-sandbox.js';
import { nsHelperMissing } from '../src/userns.js';
import { useTempStore } from './helpers/image-store.js';
import { busyboxRoot, writeOciImage } from './helpers/oci-layout.js';
import { skipOutsideCi } from './helpers.js';

function unmet(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const tool of ['buildah', 'skopeo', 'nsenter', 'unshare']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} missing (bash scripts/system-deps.sh)`;
    }
  }
  return nsHelperMissing();
}

const skip = skipOutsideCi(unmet());
const BASE = 'example.com/cove-test/base:1';

describe.skipIf(skip)(`image builds${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTempStore();
  let context: string;

  beforeAll(async () => {
    const root = t.scratch('base-root');
    await busyboxRoot(root);
    const layout = t.scratch('base-layout');
    await writeOciImage(layout, BASE, [{ dir: root }], { Env: ['PATH=/bin', 'FROM_BASE=1'], WorkingDir: '/' });
    await t.store.import(layout, { name: BASE });

    context = t.scratch('context');
    await mkdir(path.join(context, 'sub'), { recursive: true });
    await writeFile(path.join(context, 'greeting.txt'), 'hello from the context\n');
    // Host root's and unreadable to others: COPY must still read it, as `docker build` would.
    await writeFile(path.join(context, 'sub/secret.txt'), 'only root reads this\n', { mode: 0o600 });
    await writeFile(
      path.join(context, 'Dockerfile'),
      [
        `FROM ${BASE}`,
        'ARG GREETING=unset',
        'ENV APP_MODE=prod',
        'WORKDIR /app',
        'COPY greeting.txt sub/secret.txt ./',
        // What the step runs as: root inside, and on the host an id of the build's range (uid_map's second column).
        'RUN echo "$GREETING $APP_MODE" > built.txt && id -u > uid.txt && cat /proc/self/uid_map > uid_map.txt \\',
        '    && /bin/busybox chown 1000:1000 /app && cat secret.txt > secret-copy.txt',
        'USER app',
        'RUN id -un > /app/user.txt',
        'CMD ["cat", "/app/built.txt"]',
        'EXPOSE 8080',
        'LABEL org.example.test=yes',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    // Everything the builds made: storage, mount points, the id range's claim.
    const { runDir, root } = await openBuildSandbox(t.dir);
    await pruneBuildCache(t.store, { all: true });
    expect(existsSync(root)).toBe(false);
    expect(existsSync(runDir)).toBe(false);
    expect((await idRangeClaims()).filter((c) => c.dataDir === root)).toEqual([]);
    expect(execFileSync('findmnt', ['-rn', '-o', 'TARGET']).toString()).not.toContain(BUILD_RUN_DIR);
  });

  /** A file of the image as its layers have it (the topmost layer holding it wins). */
  async function fileOf(image: ImageSummary, file: string): Promise<{ text: string; uid: number; gid: number; mode: number }> {
    const info = await t.store.ensure(image.id);
    for (const layer of info.layers) {
      const p = path.join(layer, file);
      if (!existsSync(p)) continue;
      const s = lstatSync(p);
      return { text: s.isFile() ? readFileSync(p, 'utf8') : '', uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
    }
    throw new Error(`${file} is in no layer of ${image.name}`);
  }

  let first: ImageSummary;

  it('builds a Dockerfile FROM an image of the store: config and files as the steps made them, RUN in a user namespace', async () => {
    const events: ImageProgress[] = [];
    first = await buildImage(t.store, {
      context,
      tag: 'cove-test/built:1',
      buildArgs: { GREETING: 'hi' },
      onProgress: (p) => events.push(p),
    });
    expect(first.name).toBe('docker.io/cove-test/built:1');
    expect(await t.store.get('cove-test/built:1')).toMatchObject({ id: first.id });
    expect(first.config).toEqual({
      env: ['PATH=/bin', 'FROM_BASE=1', 'APP_MODE=prod'],
      workingDir: '/app',
      user: 'app',
      entrypoint: null,
      cmd: ['cat', '/app/built.txt'],
    });

    expect((await fileOf(first, 'app/built.txt')).text).toBe('hi prod\n');
    expect((await fileOf(first, 'app/greeting.txt')).text).toBe('hello from the context\n');
    expect(await fileOf(first, 'app/secret.txt')).toMatchObject({ text: 'only root reads this\n', uid: 0, mode: 0o600 });
    expect((await fileOf(first, 'app/secret-copy.txt')).text).toBe('only root reads this\n');
    expect((await fileOf(first, 'app/uid.txt')).text).toBe('0\n');
    expect((await fileOf(first, 'app/user.txt')).text).toBe('app\n');
    expect(await fileOf(first, 'app')).toMatchObject({ uid: 1000, gid: 1000 });
    const [inside, outside, count] = (await fileOf(first, 'app/uid_map.txt')).text.trim().split(/\s+/).map(Number);
    expect(inside).toBe(0);
    expect(outside).toBeGreaterThanOrEqual(2 ** 30);
    expect(count).toBe(65_536);

    const steps = events.filter((e) => e.phase === 'building');
    expect(steps.map((e) => e.message)).toEqual([
      `step 1/11: FROM ${BASE}`,
      'step 2/11: ARG GREETING=unset',
      'step 3/11: ENV APP_MODE=prod',
      'step 4/11: WORKDIR /app',
      'step 5/11: COPY greeting.txt sub/secret.txt ./',
      expect.stringMatching(/^step 6\/11: RUN echo "\$GREETING \$APP_MODE" > built\.txt/),
      'step 7/11: USER app',
      'step 8/11: RUN id -un > /app/user.txt',
      'step 9/11: CMD ["cat", "/app/built.txt"]',
      'step 10/11: EXPOSE 8080',
      'step 11/11: LABEL org.example.test=yes',
    ]);
    expect(steps.map((e) => [e.current, e.total])).toEqual(steps.map((_, i) => [i + 1, 11]));
    expect(events.at(-1)).toMatchObject({ phase: 'done', message: 'built docker.io/cove-test/built:1 (0 of 11 steps from the cache)' });
    // Listed as built, not imported (the store's import is told).
    expect(first.source).toBe('built');
  });

  it('builds the same Dockerfile again from the cache: no step runs, no image is added, the same image results', async () => {
    const before = await buildCacheUsage(t.store);
    const events: ImageProgress[] = [];
    const again = await buildImage(t.store, {
      context,
      tag: 'cove-test/built:1',
      buildArgs: { GREETING: 'hi' },
      onProgress: (p) => events.push(p),
    });
    expect(events.at(-1)?.message).toBe('built docker.io/cove-test/built:1 (10 of 11 steps from the cache)');
    expect(again.id).toBe(first.id);
    expect((await buildCacheUsage(t.store)).images).toBe(before.images);

    // Another build argument changes what the RUN step makes: the steps before it still come from the cache.
    const other: ImageProgress[] = [];
    const changed = await buildImage(t.store, {
      context,
      tag: 'cove-test/built:2',
      buildArgs: { GREETING: 'bye' },
      onProgress: (p) => other.push(p),
    });
    expect((await fileOf(changed, 'app/built.txt')).text).toBe('bye prod\n');
    expect(other.at(-1)?.message).toBe('built docker.io/cove-test/built:2 (4 of 11 steps from the cache)');

    // --no-cache runs every step again.
    const fresh: ImageProgress[] = [];
    await buildImage(t.store, { context, tag: 'cove-test/built:3', noCache: true, onProgress: (p) => fresh.push(p) });
    expect(fresh.at(-1)?.message).toBe('built docker.io/cove-test/built:3 (0 of 11 steps from the cache)');
  });

  it('a failing RUN is bad_request naming the step, with the end of its output; no working container is left', async () => {
    const dir = t.scratch('failing');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Containerfile'), `FROM ${BASE}\nRUN echo first line && echo to stderr >&2 && exit 3\n`);
    const err = await buildImage(t.store, { context: dir, tag: 'cove-test/failing:1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('bad_request');
    const message = (err as AppError).message;
    expect(message.split('\n')[0]).toBe(
      'the build failed at step 2/2 (RUN echo first line && echo to stderr >&2 && exit 3): exit status 3; its output ended with:',
    );
    // Both streams' lines, in whichever order the two pipes delivered them.
    expect(message.split('\n').slice(1).sort()).toEqual(['first line', 'to stderr']);
    expect(await t.store.get('cove-test/failing:1')).toBeUndefined();
    const sb = await openBuildSandbox(t.dir);
    const containers = await inBuildSandbox(sb, ['buildah', 'containers', '--quiet']);
    expect(containers).toEqual({ code: 0, output: '' });
    expect(await readdir(path.join(sb.stateHost, 'builds'))).toEqual([]);
  });

  it('builds a multi-stage Dockerfile ending FROM scratch, with -f naming a Dockerfile outside the context', async () => {
    const dir = t.scratch('scratch-context');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'hello.txt'), 'from scratch\n');
    const dockerfile = t.scratch('scratch.Dockerfile');
    await writeFile(
      dockerfile,
      [
        'ARG BASE_IMAGE=nothing',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own variable, expanded by the build
        'FROM ${BASE_IMAGE} AS made',
        'RUN echo made in a stage > /made.txt',
        'FROM scratch',
        'COPY --from=made /made.txt /made.txt',
        'COPY hello.txt /hello.txt',
        'ENV ONLY=this',
        'ENTRYPOINT ["/hello"]',
        '',
      ].join('\n'),
    );
    const events: ImageProgress[] = [];
    const image = await buildImage(t.store, {
      context: dir,
      dockerfile,
      tag: 'cove-test/scratch:1',
      buildArgs: { BASE_IMAGE: BASE },
      onProgress: (p) => events.push(p),
    });
    expect(events.filter((e) => e.phase === 'building').map((e) => e.message)).toEqual([
      `step [1/2] 1/2: FROM ${BASE} AS made`,
      'step [1/2] 2/2: RUN echo made in a stage > /made.txt',
      'step [2/2] 1/5: FROM scratch',
      'step [2/2] 2/5: COPY --from=made /made.txt /made.txt',
      'step [2/2] 3/5: COPY hello.txt /hello.txt',
      'step [2/2] 4/5: ENV ONLY=this',
      'step [2/2] 5/5: ENTRYPOINT ["/hello"]',
    ]);
    // buildah gives a scratch image Docker's default PATH, as `docker build` does.
    expect(image.config).toMatchObject({
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'ONLY=this'],
      entrypoint: ['/hello'],
      workingDir: null,
      user: null,
    });
    expect((await fileOf(image, 'hello.txt')).text).toBe('from scratch\n');
    expect((await fileOf(image, 'made.txt')).text).toBe('made in a stage\n');
  });

  it('a cancelled build stops its steps (no process of the range is left) and its working container', async () => {
    const dir = t.scratch('cancelled');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), `FROM ${BASE}\nRUN echo started && sleep 600\n`);
    const abort = new AbortController();
    const build = buildImage(t.store, {
      context: dir,
      tag: 'cove-test/cancelled:1',
      signal: abort.signal,
      onProgress: (p) => {
        if (p.message.startsWith('step 2/2')) setTimeout(() => abort.abort(), 300);
      },
    });
    const err = await build.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    const sb = await openBuildSandbox(t.dir);
    // Live ones: a killed step's process may linger a moment as a zombie until init reaps it.
    const inRange = execFileSync('ps', ['-eo', 'uid=,stat=,args='])
      .toString()
      .split('\n')
      .filter((l) => {
        const [uid, state] = l.trim().split(/\s+/);
        return Number(uid) >= sb.range.base && Number(uid) < sb.range.base + sb.range.size && !state?.startsWith('Z');
      });
    expect(inRange).toEqual([]);
    expect(await inBuildSandbox(sb, ['buildah', 'containers', '--quiet'])).toEqual({ code: 0, output: '' });
    expect(await t.store.get('cove-test/cancelled:1')).toBeUndefined();
  });

  it('a missing context or Dockerfile, a bad tag or build argument are bad_request, and nothing is built', async () => {
    const fails = async (options: Parameters<typeof buildImage>[1]) => {
      const err = await buildImage(t.store, options).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('bad_request');
      return (err as AppError).message;
    };
    const missing = t.scratch('no-such-dir');
    expect(await fails({ context: missing, tag: 'x:1' })).toBe(`the build context ${missing} is not a directory`);
    const empty = t.scratch('empty-context');
    await mkdir(empty, { recursive: true });
    expect(await fails({ context: empty, tag: 'x:1' })).toBe(`no Dockerfile (or Containerfile) in ${empty}`);
    expect(await fails({ context, dockerfile: path.join(empty, 'nope'), tag: 'x:1' })).toBe(`no Dockerfile at ${path.join(empty, 'nope')}`);
    expect(await fails({ context, tag: 'Not A Tag' })).toMatch(/^invalid image reference 'Not A Tag'/);
    expect(await fails({ context, tag: 'x:1', buildArgs: { 'A B': '1' } })).toBe("invalid build argument name 'A B'");
    await writeFile(path.join(empty, 'Dockerfile'), 'RUN true\n');
    expect(await fails({ context: empty, tag: 'x:1' })).toBe('the Dockerfile has no FROM instruction');
    expect(await t.store.get('x:1')).toBeUndefined();
  });
});
