// Snapshots, restore, archives and forks over HTTP on both drivers: the shapes the official SDK reads, `after`,
// restore restarting a running workspace, archives listed, downloaded and used by a create, forks with their own
// address and token that diverge from their parent and outlive it; hostile input answered clearly. Paths are
// under the workspace's home (`/root` in a sandbox, its directory on the host for the process driver), owners
// are checked where the test may set them (a sandbox, or root on the host).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WORKSPACE_DEFAULTS } from '@cove/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from './helpers/driver-stack.js';
import { tarOf } from './helpers/tar-build.js';

const SLOT = 80;
/** The largest upload these tests' control planes take. */
const UPLOAD_CAP = 1024 * 1024;

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`snapshots, archives and forks over HTTP (${variant.title})`, () => {
    let t: TestStack;
    let id: string;
    let tmp: string;
    /** The workspace's home as its commands see it. */
    let home: string;
    const owners = variant.kind === 'sandbox' || process.getuid?.() === 0;
    const chown = (spec: string) => (owners ? ` && chown -R ${spec}` : '');
    const defaultImage = variant.image ?? WORKSPACE_DEFAULTS.image;

    async function exec(ws: string, script: string): Promise<string> {
      const jwt = (await t.json('POST', `/workspace/${ws}/runtime-api-access/enable`)).body.token as string;
      const res = await fetch(`${t.gatewayURL}/exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
        body: JSON.stringify({ cmd: ['sh', '-c', script], timeout_seconds: 60 }),
      });
      const body = (await res.json()) as { exit_code: number; stdout: string; stderr: string };
      expect(body.exit_code, body.stderr).toBe(0);
      return body.stdout;
    }

    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT, { archiveUpload: { maxBytes: UPLOAD_CAP } });
      tmp = await mkdtemp(path.join(os.tmpdir(), 'cove-api-snapshots-'));
      id = await t.createWorkspace({ name: 'origin', ...variant.workspace });
      expect((await t.json('PATCH', `/workspace/${id}/network`, { body: { public_access: true } })).status).toBe(200);
      home = (await exec(id, 'cd && pwd')).trim();
    }, 120_000);
    afterAll(async () => {
      await t?.close();
      await rm(tmp, { recursive: true, force: true });
    }, 120_000);

    it('the lifecycle answer says the driver has file-system snapshots, and whether a fork copies the files', async () => {
      expect((await t.json('GET', `/workspace/${id}/lifecycle`)).body.filesystem_snapshots).toEqual({
        supported: true,
        // The sandbox clones the disk (constant time, where its disk pool can reflink); the process driver copies files.
        constant_time_fork: variant.kind === 'sandbox' ? t.cp.context.driver.snapshots?.constantTimeFork : false,
        unavailable_reason: null,
      });
    });

    it('snapshot and restore: the file system comes back, memory is said not to', async () => {
      await exec(id, `mkdir ~/s && echo one > ~/s/v${chown('1000 ~/s/v')}`);
      const none = await t.json('GET', `/workspace/${id}/snapshot`);
      expect(none.body).toMatchObject({ success: true, snapshot: null, memory: false });
      expect((await t.json('POST', `/workspace/${id}/restore`)).status).toBe(409);
      const snap = await t.json('POST', `/workspace/${id}/snapshot`, { body: {} });
      expect(snap.status, JSON.stringify(snap.body)).toBe(200);
      expect(snap.body).toMatchObject({ success: true, after: 'resume', memory: false, workspace: { id, status: 'running' } });
      expect(snap.body.snapshot).toMatchObject({ workspace_id: id, memory: false });
      expect(snap.body.memory_reason).toMatch(/CRIU/);
      await exec(id, 'echo two > ~/s/v && touch ~/s/later');
      const restored = await t.json('POST', `/workspace/${id}/restore`);
      expect(restored.status, JSON.stringify(restored.body)).toBe(200);
      expect(restored.body).toMatchObject({ success: true, restored: true, memory: false, workspace: { status: 'running' } });
      expect(restored.body.snapshot.created_at).toBe(snap.body.snapshot.created_at);
      expect(await exec(id, 'cat ~/s/v; ls ~/s')).toBe('one\nv\n');
      if (owners) expect(await exec(id, 'stat -c %u ~/s/v')).toBe('1000\n');
    });

    it('snapshot after: paused and stop leave the workspace so', async () => {
      const paused = await t.json('POST', `/workspace/${id}/snapshot`, { body: { after: 'paused' } });
      expect(paused.body.workspace.status).toBe('paused');
      const resumed = await t.json('POST', `/workspace/${id}/snapshot`, { body: { after: 'resume' } });
      expect(resumed.body.workspace.status).toBe('running');
      const stopped = await t.json('POST', `/workspace/${id}/snapshot`, { body: { after: 'stop' } });
      expect(stopped.body.workspace.status).toBe('stopped');
      // Restoring a stopped workspace leaves it stopped.
      const restored = await t.json('POST', `/workspace/${id}/restore`);
      expect(restored.body.workspace.status).toBe('stopped');
      expect((await t.json('POST', `/workspace/${id}/start`)).status).toBe(200);
      expect((await t.json('POST', `/workspace/${id}/snapshot`, { body: { after: 'later' } })).status).toBe(400);
    });

    it('archives: created, listed, fetched, downloaded, used by a create, deleted', async () => {
      await exec(id, `mkdir -p ~/app && echo code > ~/app/main && echo junk > ~/app/tmp${chown('1000:1000 ~/app')}`);
      const created = await t.json('POST', `/workspace/${id}/archives`, {
        body: { version: 'v1', format: 'tar.gz', vm_paths: [`${home}/app/`], exclude_vm_paths: [`${home}/app/tmp`] },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      expect(created.body).toMatchObject({ success: true, version: 'v1', format: 'tar.gz', vm_paths: [`${home}/app`], memory: false });
      const whole = await t.json('POST', `/workspace/${id}/archives`, { body: {} });
      expect(whole.body.version).toMatch(/^v\d{8}-/);
      expect(whole.body.format).toBe('tar.zst');
      const list = await t.json('GET', `/workspace/${id}/archives`);
      expect(list.body.archives.map((a: { version: string }) => a.version)).toEqual(['v1', whole.body.version]);
      expect((await t.json('GET', `/workspace/${id}/archives/v1`)).body).toMatchObject({ version: 'v1', sha256: created.body.sha256 });
      const download = await t.request('GET', `/workspace/${id}/archives/v1/download`);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe('application/gzip');
      const file = path.join(tmp, 'v1.tar.gz');
      await writeFile(file, Buffer.from(await download.arrayBuffer()));
      const entries = execFileSync('tar', ['-tvzf', file, '--numeric-owner'], { encoding: 'utf8' });
      // A sandbox's archive is named from its root; a process workspace's from its home directory.
      const main = variant.kind === 'sandbox' ? `.${home}/app/main` : './app/main';
      expect(entries).toContain(` ${main}\n`);
      if (owners) expect(entries).toMatch(new RegExp(`1000/1000 .* ${main.replaceAll('.', '\\.')}`));
      expect(entries).not.toContain('tmp');
      // A new workspace from the archive.
      const made = await t.json('POST', '/workspace', {
        body: { name: 'from-archive', ...variant.workspace, from_archive: { workspace_id: id, version: 'v1' } },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const other = made.body.workspace.id as string;
      expect(made.body.workspace.image).toBe(defaultImage);
      expect((await t.json('PATCH', `/workspace/${other}/network`, { body: { public_access: true } })).status).toBe(200);
      const there = variant.kind === 'sandbox' ? `${home}/app` : '~/app';
      expect(await exec(other, `cat ${there}/main; ls ${there}`)).toBe('code\nmain\n');
      if (owners) expect(await exec(other, `stat -c %u ${there}/main`)).toBe('1000\n');
      // Hostile and wrong input.
      expect((await t.json('POST', `/workspace/${id}/archives`, { body: { version: '../x' } })).status).toBe(400);
      expect((await t.json('POST', `/workspace/${id}/archives`, { body: { version: 'v1' } })).status).toBe(409);
      expect((await t.json('POST', `/workspace/${id}/archives`, { body: { format: 'rar' } })).status).toBe(400);
      expect((await t.json('POST', `/workspace/${id}/archives`, { body: { vm_paths: [`${home}/../etc`] } })).status).toBe(400);
      expect((await t.json('POST', `/workspace/${id}/archives`, { body: { vm_paths: ['relative'] } })).status).toBe(400);
      expect((await t.json('POST', `/workspace/${id}/archives`, { body: { vm_paths: [`${home}/missing`] } })).status).toBe(400);
      expect((await t.json('GET', `/workspace/${id}/archives/nope`)).status).toBe(404);
      expect((await t.json('POST', '/workspace', { body: { from_archive: { workspace_id: id, version: 'nope' } } })).status).toBe(404);
      expect((await t.json('POST', '/workspace', { body: { from_archive: 'v1' } })).status).toBe(400);
      // Another account sees none of it.
      const eve = await t.newClient('eve');
      expect((await t.json('GET', `/workspace/${id}/archives`, { auth: eve })).status).toBe(404);
      expect((await t.json('POST', '/workspace', { auth: eve, body: { from_archive: { workspace_id: id, version: 'v1' } } })).status).toBe(
        404,
      );
      // Deletion, one and all.
      expect((await t.json('DELETE', `/workspace/${id}/archives/v1?delete_file=true`)).body).toMatchObject({
        success: true,
        file_deleted: true,
      });
      expect((await t.json('DELETE', `/workspace/${id}/archives`)).body).toMatchObject({ success: true, deleted: 1 });
      expect((await t.json('GET', `/workspace/${id}/archives`)).body.archives).toEqual([]);
      expect((await t.json('DELETE', `/workspace/${other}`)).status).toBe(200);
    });

    it('archives keep sparse files: a 1 GiB file of a few KiB of data comes back whole, holes and all', async () => {
      const write = (text: string, at: number) => `printf ${text} | dd of=$HOME/sparse/big bs=1 seek=${at} conv=notrunc status=none`;
      await exec(
        id,
        `mkdir -p ~/sparse && truncate -s 1G ~/sparse/big && ${write('head', 0)} && ${write('middle', 500_000_000)} && ${write('tail', 1024 ** 3 - 4)}`,
      );
      // Apparent size, data blocks (KiB, small), and what is at each written place and in a hole between them
      // (reading the whole gibibyte would cost seconds).
      const at = (dir: string, offset: number, count: number) =>
        `dd if=${dir}/big bs=1 skip=${offset} count=${count} status=none | od -An -c | tr -d ' '`;
      const probe = (dir: string) =>
        `stat -c %s ${dir}/big; du -k ${dir}/big | cut -f1; (${at(dir, 0, 4)}; ${at(dir, 500_000_000, 6)}; ${at(dir, 1024 ** 3 - 4, 4)}; ${at(dir, 700_000_000, 4)}) | tr -d '\\n'`;
      const [size, kib, content] = (await exec(id, probe('$HOME/sparse'))).trim().split('\n');
      expect(Number(size)).toBe(1024 ** 3);
      expect(Number(kib)).toBeLessThan(1024);
      expect(content).toBe('headmiddletail\\0\\0\\0\\0');
      const made = await t.json('POST', `/workspace/${id}/archives`, { body: { version: 'sparse', vm_paths: [`${home}/sparse`] } });
      expect(made.status, JSON.stringify(made.body)).toBe(200);
      expect(made.body.size).toBeLessThan(1024 * 1024);
      const copy = await t.json('POST', '/workspace', {
        body: { name: 'sparse-copy', ...variant.workspace, from_archive: { workspace_id: id, version: 'sparse' } },
      });
      expect(copy.status, JSON.stringify(copy.body)).toBe(201);
      const copyId = copy.body.workspace.id as string;
      await t.json('PATCH', `/workspace/${copyId}/network`, { body: { public_access: true } });
      const there = variant.kind === 'sandbox' ? `${home}/sparse` : '$HOME/sparse';
      const [copySize, copyKib, copyContent] = (await exec(copyId, probe(there))).trim().split('\n');
      expect(Number(copySize)).toBe(1024 ** 3);
      // Its holes stayed holes (in a sandbox the 1 GiB would not even fit the 256 MiB disk otherwise).
      expect(Number(copyKib)).toBeLessThan(1024);
      expect(copyContent).toBe(content);
      await exec(id, 'rm -rf ~/sparse');
      expect((await t.json('DELETE', `/workspace/${copyId}`)).status).toBe(200);
    });

    it('archive uploads: a downloaded archive becomes a new workspace; hostile and oversized ones are refused', async () => {
      const upload = (body: NonNullable<RequestInit['body']>, headers: Record<string, string> = {}, auth = t.client) =>
        fetch(`${t.url}/workspace/archives/upload`, {
          method: 'POST',
          headers: {
            'x-client-id': auth.clientId,
            'x-client-secret': auth.clientSecret,
            'content-type': 'application/octet-stream',
            ...headers,
          },
          body,
          duplex: 'half',
        } as RequestInit);
      const uploaded = async (bytes: Buffer) => {
        const res = await upload(bytes);
        const body = (await res.json()) as { upload_id: string };
        expect(res.status, JSON.stringify(body)).toBe(200);
        return body.upload_id as string;
      };
      const create = (uploadId: string, extra: Record<string, unknown> = {}, auth = t.client) =>
        t.json('POST', '/workspace', { auth, body: { ...variant.workspace, ...extra, from_archive: { upload_id: uploadId } } });

      // An archive downloaded from one workspace, uploaded, and made into another.
      await exec(id, `mkdir -p ~/up/sub && echo carried > ~/up/sub/f && ln -s sub/f ~/up/link && ln ~/up/sub/f ~/up/hard`);
      const made = await t.json('POST', `/workspace/${id}/archives`, { body: { version: 'up', vm_paths: [`${home}/up`] } });
      expect(made.status, JSON.stringify(made.body)).toBe(200);
      const bytes = Buffer.from(await (await t.request('GET', `/workspace/${id}/archives/up/download`)).arrayBuffer());
      const res = await upload(bytes, { 'content-type': 'application/zstd' });
      const info = (await res.json()) as { upload_id: string; expires_at: string };
      expect(res.status, JSON.stringify(info)).toBe(200);
      expect(info).toMatchObject({ success: true, format: 'tar.zst', size: bytes.length, sha256: made.body.sha256 });
      expect(info.upload_id).toMatch(/^upl_/);
      expect((await t.json('GET', `/workspace/archives/upload/${info.upload_id}`)).body.upload.expires_at).toBe(info.expires_at);
      const copy = await create(info.upload_id, { name: 'uploaded' });
      expect(copy.status, JSON.stringify(copy.body)).toBe(201);
      const copyId = copy.body.workspace.id as string;
      expect(copy.body.workspace.image).toBe(defaultImage);
      await t.json('PATCH', `/workspace/${copyId}/network`, { body: { public_access: true } });
      const there = variant.kind === 'sandbox' ? `${home}/up` : '~/up';
      expect(await exec(copyId, `cat ${there}/sub/f ${there}/link; readlink ${there}/link; stat -c %h ${there}/hard`)).toBe(
        'carried\ncarried\nsub/f\n2\n',
      );
      // Another account cannot use or see it.
      const eve = await t.newClient('eve');
      expect((await create(info.upload_id, {}, eve)).status).toBe(404);
      expect((await t.json('GET', `/workspace/archives/upload/${info.upload_id}`, { auth: eve })).status).toBe(404);
      // Deleted, it is gone.
      expect((await t.json('DELETE', `/workspace/archives/upload/${info.upload_id}`)).body).toMatchObject({ success: true, deleted: true });
      expect((await create(info.upload_id)).status).toBe(404);

      // Hostile archives: accepted as uploads (they look like archives), refused whole by the create, nothing left.
      const outside = path.join(tmp, 'outside');
      const hostile: Array<[string, Buffer]> = [
        ['a name leaving the workspace', tarOf([{ name: '../../../../../../../../tmp/cove-escape', data: 'x' }])],
        [
          'a path through its own symlink',
          tarOf([
            { name: 'l', type: 'symlink', link: outside },
            { name: 'l/pwned', data: 'x' },
          ]),
        ],
        ['a hard link leaving it', tarOf([{ name: 'h', type: 'link', link: '../../../../../../../etc/passwd' }])],
        ['gzip that is not', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(600, 7)])],
      ];
      if (variant.kind === 'process') hostile.push(['a device node', tarOf([{ name: 'disk', type: 'char' }])]);
      // Sparse maps that are no file's: segments overlapping, past the file's end, adding up to other than the data.
      const data = 'x'.repeat(1024);
      hostile.push(
        [
          'a sparse map overlapping',
          tarOf([
            {
              name: 's',
              data,
              sparse: {
                map: [
                  [0, 512],
                  [100, 512],
                ],
                realSize: 4096,
              },
            },
          ]),
        ],
        ['a sparse map past the end', tarOf([{ name: 's', data, sparse: { map: [[0, 1024]], realSize: 100 } }])],
        ['a sparse map short of its data', tarOf([{ name: 's', data, sparse: { map: [[0, 512]], realSize: 4096 } }])],
      );
      const before = (await t.json('GET', '/workspace')).body.total;
      for (const [what, archive] of hostile) {
        const refused = await create(await uploaded(archive));
        expect(refused.status, `${what}: ${JSON.stringify(refused.body)}`).toBe(400);
        expect(refused.body).toMatchObject({ success: false, code: 'bad_request' });
      }
      expect(existsSync('/tmp/cove-escape')).toBe(false);
      expect(existsSync(path.join(outside, 'pwned'))).toBe(false);
      expect((await t.json('GET', '/workspace')).body.total).toBe(before);
      if (variant.kind === 'process') {
        // More than the workspace's disk holds: refused at the header that says so, before any data is read.
        const big = tarOf([{ name: 'huge', declaredSize: 300 * 1024 * 1024 }]);
        const tooBig = await create(await uploaded(big), { disk_size_mb: 256 });
        expect(tooBig.status, JSON.stringify(tooBig.body)).toBe(400);
        expect(tooBig.body.error).toMatch(/do not fit/);
        // A sparse file counts at its real size, not at the few bytes its archive stores.
        const sparse = tarOf([{ name: 'holes', data: 'x', sparse: { map: [[300 * 1024 * 1024 - 1, 1]], realSize: 300 * 1024 * 1024 } }]);
        const sparseTooBig = await create(await uploaded(sparse), { disk_size_mb: 256 });
        expect(sparseTooBig.status, JSON.stringify(sparseTooBig.body)).toBe(400);
        expect(sparseTooBig.body.error).toMatch(/do not fit/);
      }

      // Refused at the upload: not an archive, too large (declared, or found so while streaming), not binary.
      const garbage = await upload(Buffer.from('this is not an archive at all'.repeat(40)));
      expect(garbage.status).toBe(400);
      expect(await garbage.json()).toMatchObject({ code: 'bad_request' });
      expect((await upload(Buffer.alloc(UPLOAD_CAP + 1))).status).toBe(413);
      const stream = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 3; i++) controller.enqueue(new Uint8Array(UPLOAD_CAP / 2));
          controller.close();
        },
      });
      expect((await upload(stream as unknown as NonNullable<RequestInit['body']>)).status).toBe(413);
      expect((await upload('{}', { 'content-type': 'application/json' })).status).toBe(415);
      expect((await upload(Buffer.alloc(0))).status).toBe(400);
      // The server goes on serving.
      expect((await t.json('GET', `/workspace/${id}`)).status).toBe(200);
      expect((await t.json('DELETE', `/workspace/${copyId}`)).status).toBe(200);
    });

    it('fork: children with their own address and token, diverging from the parent, outliving it', async () => {
      const parent = await t.createWorkspace({ name: 'parent', ...variant.workspace });
      await t.json('PATCH', `/workspace/${parent}/network`, { body: { public_access: true } });
      await exec(parent, 'echo from-parent > ~/state');
      const forked = await t.json('POST', `/workspace/${parent}/fork`, { body: { name: 'kid', count: 3 } });
      expect(forked.status, JSON.stringify(forked.body)).toBe(201);
      expect(forked.body.workspaces.map((w: { name: string }) => w.name)).toEqual(['kid-1', 'kid-2', 'kid-3']);
      const kids = forked.body.workspaces.map((w: { id: string }) => w.id) as string[];
      expect(
        forked.body.workspaces.every((w: { status: string; image: string }) => w.status === 'running' && w.image === defaultImage),
      ).toBe(true);
      // A sandbox child has its own address; process workspaces all listen on loopback (each its own port).
      const ips = new Set(forked.body.workspaces.map((w: { ip: string }) => w.ip));
      expect(ips.size).toBe(variant.kind === 'sandbox' ? 3 : 1);
      for (const kid of kids) {
        // The parent's network settings (public access) came with it.
        expect((await t.json('GET', `/workspace/${kid}/network`)).body.public_access).toBe(true);
        expect(await exec(kid, `cat ~/state && echo ${kid} > ~/state && cat ~/state`)).toBe(`from-parent\n${kid}\n`);
      }
      const tokens = new Set<string>();
      for (const ws of [parent, ...kids]) tokens.add((await t.json('GET', `/workspace/${ws}/runtime-api-access/token/raw`)).body.token);
      expect(tokens.size).toBe(4);
      expect(await exec(parent, 'cat ~/state')).toBe('from-parent\n');
      expect((await t.json('DELETE', `/workspace/${parent}`)).status).toBe(200);
      expect(await exec(kids[0] ?? '', 'cat ~/state')).toBe(`${kids[0]}\n`);
      const named = await t.json('POST', `/workspace/${kids[0]}/fork`, { body: {} });
      expect(named.body.workspace.name).toBe('kid-1-fork');
      for (const ws of [...kids, named.body.workspace.id]) expect((await t.json('DELETE', `/workspace/${ws}`)).status).toBe(200);
      expect((await t.json('POST', `/workspace/${id}/fork`, { body: { count: 0 } })).status).toBe(400);
      expect((await t.json('POST', `/workspace/${id}/fork`, { body: { count: 101 } })).status).toBe(400);
      expect((await t.json('POST', '/workspace/ws_000000000000/fork', { body: {} })).status).toBe(404);
    });
  });
}
