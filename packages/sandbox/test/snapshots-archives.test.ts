// Archives on the sandbox driver: a compressed tar of the file system as seen inside (owners inside ids), of
// all of it or of some paths minus others, read while the workspace runs; listed, fetched, deleted; and a
// new workspace filled from one. Hostile archives are refused.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ArchiveRequest, WorkspaceSpec } from '@cove/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execIn, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 22;
const skip = skipReason();

const FILL = [
  'mkdir -p /root/data/empty /root/data/sub',
  'printf hello > /root/data/file && chmod 0640 /root/data/file && chown 1000:1001 /root/data/file',
  'printf setuid > /root/data/suid && chmod 4755 /root/data/suid',
  'ln -s ../data/file /root/data/link && chown -h 1000:1000 /root/data/link',
  'printf linked > /root/data/hard1 && ln /root/data/hard1 /root/data/sub/hard2',
  'truncate -s 64M /root/data/sparse && printf end >> /root/data/sparse',
  'echo secret > /root/data/sub/skip && chown 1002:1002 /root/data/sub',
].join(' && ');

const LIST = [
  "find /root/data -printf '%p %y %m %U:%G %l %s\\n' | sort",
  'echo hardlinked $( [ "$(stat -c %i /root/data/hard1)" = "$(stat -c %i /root/data/sub/hard2)" ] && echo yes || echo no)',
  'cat /root/data/file /root/data/link; echo; tail -c 3 /root/data/sparse; echo',
].join('; ');

function request(version: string, extra: Partial<ArchiveRequest> = {}): ArchiveRequest {
  return { version, format: 'tar.zst', vmPaths: [], excludeVmPaths: [], ...extra };
}

/** `tar -tv` of an archive file, numeric owners: "mode owner/group path" lines. */
function listing(file: string): string[] {
  const out = execFileSync('tar', ['-tv', '--numeric-owner', '-f', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(/\s+/);
      return `${f[0]} ${f[1]} ${f.slice(5).join(' ')}`;
    });
}

describe.skipIf(skip)(`sandbox archives${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT);
  let tmp: string;
  let source: WorkspaceSpec;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cove-archives-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function sh(id: string, script: string): Promise<string> {
    const res = await execIn(t.driver, id, script);
    if (res.code !== 0) throw new Error(`exit ${res.code}: ${res.stderr}`);
    return res.stdout;
  }

  it('archives the whole file system with the owners as seen inside, while the workspace runs', async () => {
    source = spec({ diskMb: 256 });
    await t.driver.create(source);
    await t.driver.start(source);
    await sh(source.id, FILL);
    const info = await t.driver.snapshots.createArchive(source.id, request('v1'));
    expect(info).toMatchObject({ version: 'v1', format: 'tar.zst', workspaceId: source.id, image: 'host' });
    expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
    const { file } = await t.driver.snapshots.archiveFile(source.id, 'v1');
    const lines = listing(file);
    expect(lines).toContain('-rw-r----- 1000/1001 ./root/data/file');
    expect(lines).toContain('-rwsr-xr-x 0/0 ./root/data/suid');
    expect(lines).toContain('lrwxrwxrwx 1000/1000 ./root/data/link -> ../data/file');
    expect(lines).toContain('drwxr-xr-x 1002/1002 ./root/data/sub/');
    // Whichever of the two tar meets first (directory order) is the file, the other a link to it.
    const linked = (a: string, b: string) => lines.some((l) => l.includes(`${a} link to ${b}`));
    expect(linked('./root/data/sub/hard2', './root/data/hard1') || linked('./root/data/hard1', './root/data/sub/hard2')).toBe(true);
    // The image's files are in it (the file system as a whole), the mounts' contents are not.
    expect(lines.some((l) => l.endsWith(' ./etc/passwd'))).toBe(true);
    expect(lines.some((l) => l.includes('./opt/cove/'))).toBe(false);
    expect(await t.driver.snapshots.listArchives(source.id)).toEqual([info]);
    // The workspace ran on.
    expect(await sh(source.id, 'echo alive')).toBe('alive\n');
  });

  it('archives some paths minus others, as tar.gz', async () => {
    const info = await t.driver.snapshots.createArchive(
      source.id,
      request('v2', { format: 'tar.gz', vmPaths: ['/root/data'], excludeVmPaths: ['/root/data/sub'] }),
    );
    const { file } = await t.driver.snapshots.archiveFile(source.id, info.version);
    expect(file.endsWith('.tar.gz')).toBe(true);
    const names = listing(file).map((l) => l.split(' ')[2]);
    expect(names).toContain('./root/data/file');
    expect(names.some((n) => n?.startsWith('./root/data/sub'))).toBe(false);
    expect(names.some((n) => n?.startsWith('./etc'))).toBe(false);
  });

  it('refuses a taken version and a path that does not exist', async () => {
    await expect(t.driver.snapshots.createArchive(source.id, request('v1'))).rejects.toMatchObject({ code: 'conflict' });
    await expect(t.driver.snapshots.createArchive(source.id, request('v3', { vmPaths: ['/nope'] }))).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('/nope'),
    });
    expect((await t.driver.snapshots.listArchives(source.id)).map((a) => a.version)).toEqual(['v1', 'v2']);
  });

  it('fills a new workspace from an archive: the same entries, in its own range', async () => {
    const expected = await sh(source.id, LIST);
    const { file } = await t.driver.snapshots.archiveFile(source.id, 'v1');
    const target = spec({ diskMb: 256 });
    await t.driver.create(target);
    await t.driver.snapshots.unpackArchive(target.id, file);
    await t.driver.start(target);
    expect(await sh(target.id, LIST)).toBe(expected);
    const range = t.driver.idRangeOf(target.id);
    const { stat } = await import('node:fs/promises');
    expect((await stat(path.join(t.driver.rootfsOf(target.id) ?? '', 'root/data/file'))).uid).toBe((range?.base ?? 0) + 1000);
    // Only a workspace that never started can be filled.
    await expect(t.driver.snapshots.unpackArchive(target.id, file)).rejects.toMatchObject({ code: 'conflict' });
    await t.driver.destroy(target.id);
  });

  it('refuses a hostile archive, and one larger than the disk', async () => {
    const evil = path.join(tmp, 'evil.tar');
    execFileSync('python3', [
      '-c',
      `import tarfile, io
t = tarfile.open(${JSON.stringify(evil)}, 'w')
i = tarfile.TarInfo('../../escape'); data = b'x'; i.size = len(data); t.addfile(i, io.BytesIO(data)); t.close()`,
    ]);
    const target = spec();
    await t.driver.create(target);
    await expect(t.driver.snapshots.unpackArchive(target.id, evil)).rejects.toMatchObject({ code: 'bad_request' });
    const garbage = path.join(tmp, 'garbage.tar.zst');
    await writeFile(garbage, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5]));
    await expect(t.driver.snapshots.unpackArchive(target.id, garbage)).rejects.toMatchObject({ code: 'bad_request' });
    // 300 MiB of data in an archive for a 64 MiB disk.
    const big = path.join(tmp, 'big.tar');
    execFileSync('python3', [
      '-c',
      `import tarfile, io
t = tarfile.open(${JSON.stringify(big)}, 'w')
for n in range(3):
    i = tarfile.TarInfo('big%d' % n); i.size = 100 << 20; t.addfile(i, io.BytesIO(b'\\x01' * i.size))
t.close()`,
    ]);
    await expect(t.driver.snapshots.unpackArchive(target.id, big)).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('does not fit'),
    });
    // The workspace is still whole and starts empty.
    await t.driver.start(target);
    expect(await sh(target.id, 'ls /root | wc -l; ls / | grep -c escape || true')).toBe('0\n0\n');
    await t.driver.destroy(target.id);
  });

  it('deletes an archive with or without its file; deleting the workspace removes them all', async () => {
    const v1 = await t.driver.snapshots.archiveFile(source.id, 'v1');
    const v2 = await t.driver.snapshots.archiveFile(source.id, 'v2');
    await t.driver.snapshots.deleteArchive(source.id, 'v1', false);
    expect(existsSync(v1.file)).toBe(true);
    await expect(t.driver.snapshots.archiveFile(source.id, 'v1')).rejects.toMatchObject({ code: 'not_found' });
    await t.driver.snapshots.deleteArchive(source.id, 'v2', true);
    expect(existsSync(v2.file)).toBe(false);
    expect(await t.driver.snapshots.listArchives(source.id)).toEqual([]);
    await t.driver.destroy(source.id);
    expect(existsSync(path.join(t.dataDir, 'archives', source.id))).toBe(false);
  });
});
