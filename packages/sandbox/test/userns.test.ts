// Root inside a workspace is not root on the host: each workspace runs in its own user namespace, mapping
// 0–65535 inside to its own range of host ids, over a shared image seen through an idmapped mount.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, copyFile, lchown, mkdir, open, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ID_RANGE_SIZE, idRangeClaims, type SandboxDriver } from '../src/index.js';
import { ociConfig } from '../src/oci-spec.js';
import { processAlive } from '../src/process-alive.js';
import { run } from '../src/run-command.js';
import { execIn, IMAGES_DIR, reopen, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 16;
const skip = skipReason();

/** The Uid: line of a host process (real, effective, saved, filesystem). */
function hostUids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  return (line ?? '').split(/\s+/).slice(1).filter(Boolean).map(Number);
}

/** Host pids whose command line is exactly `argv`. */
function pidsRunning(argv: string[]): number[] {
  const wanted = `${argv.join('\0')}\0`;
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8') === wanted;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Runs `argv` on the host as uid and gid `id` (no groups) in `cwd`. */
function asHostUser(id: number, cwd: string, argv: string[]) {
  return spawnSync('setpriv', [`--reuid=${id}`, `--regid=${id}`, '--clear-groups', '--', ...argv], { cwd, encoding: 'utf8' });
}

async function running(driver: SandboxDriver, token: string) {
  const s = spec();
  await driver.create(s);
  await driver.start(s);
  await driver.startAgent(s.id, token);
  const range = driver.idRangeOf(s.id);
  if (!range) throw new Error('no id range');
  return { s, range };
}

describe.skipIf(skip)(`sandbox user namespaces${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT);
  const upper = (id: string) => path.join(t.dataDir, 'workspaces', t.driver.slotOf(id) ?? id, 'disk/upper');

  it("root inside is uid 0 there and its range's base on the host, for its processes and its files", async () => {
    const { s, range } = await running(t.driver, 'a'.repeat(64));
    expect(range.size).toBe(ID_RANGE_SIZE);
    expect(range.base).toBeGreaterThanOrEqual(2 ** 30);
    const inside = await execIn(t.driver, s.id, 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map');
    expect(inside.code).toBe(0);
    expect(inside.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toEqual([
      '0',
      '0',
      `0 ${range.base} ${ID_RANGE_SIZE}`,
      `0 ${range.base} ${ID_RANGE_SIZE}`,
      '',
    ]);
    // The container's first process (tini) and the agent it runs.
    const init = (await t.driver.runtime.state(t.driver.slotOf(s.id) ?? s.id))?.pid ?? 0;
    const agent = Number(readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim().split(' ')[0]);
    expect(hostUids(init)).toEqual([range.base, range.base, range.base, range.base]);
    expect(readFileSync(`/proc/${agent}/cmdline`, 'utf8')).toContain('cove-agent.js');
    expect(hostUids(agent)).toEqual([range.base, range.base, range.base, range.base]);
    // A process started by exec, found on the host by its command line.
    const marker = String(10_000 + (process.pid % 50_000));
    expect((await execIn(t.driver, s.id, `setsid sleep ${marker} </dev/null >/dev/null 2>&1 & echo started`)).stdout).toBe('started\n');
    let sleeper: number[] = [];
    for (let i = 0; i < 100 && sleeper.length === 0; i++) {
      sleeper = pidsRunning(['sleep', marker]);
      if (sleeper.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(sleeper).toHaveLength(1);
    expect(hostUids(sleeper[0] as number)).toEqual([range.base, range.base, range.base, range.base]);
    // Files it creates are owned by base + uid on the host (seen in the upper layer).
    const made = await execIn(
      t.driver,
      s.id,
      'echo mine > /root/by-root && mkdir -p /srv/app && install -o 1000 -g 1000 -m 644 /dev/null /srv/app/by-1000 && stat -c "%u:%g" /root/by-root /srv/app/by-1000',
    );
    expect(made).toMatchObject({ code: 0, stdout: '0:0\n1000:1000\n' });
    expect(statSync(path.join(upper(s.id), 'root/by-root'))).toMatchObject({ uid: range.base, gid: range.base });
    expect(statSync(path.join(upper(s.id), 'srv/app/by-1000'))).toMatchObject({ uid: range.base + 1000, gid: range.base + 1000 });
    // The image shows its own owners inside (root), not nobody; it stays unshifted on the host.
    expect((await execIn(t.driver, s.id, 'stat -c "%u:%g" /etc/passwd /usr/bin/env')).stdout).toBe('0:0\n0:0\n');
    expect(statSync(path.join(IMAGES_DIR, 'host/rootfs/etc/passwd')).uid).toBe(0);
    await t.driver.destroy(s.id);
  }, 120_000);

  it('root inside can do what package installs do: chown, set-id programs, port 80, /root, files of uid 1000', async () => {
    const { s } = await running(t.driver, 'b'.repeat(64));
    const script = [
      'set -e',
      'echo data > /root/notes && cat /root/notes',
      'touch /tmp/owned && chown 1000:1000 /tmp/owned && stat -c "%u:%g" /tmp/owned',
      'mkdir -p /opt/pkg && install -o 1000 -g 1000 -m 640 /etc/hostname /opt/pkg/conf && stat -c "%u:%g %a" /opt/pkg/conf',
      // A set-uid-root program run by uid 1000 runs as root (of the workspace).
      'cp /usr/bin/id /srv/suid-id && chmod 4755 /srv/suid-id',
      'setpriv --reuid=1000 --regid=1000 --clear-groups /srv/suid-id -u',
      'setpriv --reuid=1000 --regid=1000 --clear-groups id -u',
      // The host image's /usr is idmapped too: its programs are root's inside, set-id bits included.
      'stat -c "%u:%g" /usr/bin/su && test -u /usr/bin/su && echo su-setuid',
      // Ports below 1024: root inside has CAP_NET_BIND_SERVICE over its network namespace.
      `/opt/cove/bin/node -e "require('net').createServer().listen(80, '0.0.0.0', function () { console.log('port', this.address().port); this.close(); })"`,
    ].join('\n');
    const res = await execIn(t.driver, s.id, script);
    expect(res.stderr).toBe('');
    expect(res.stdout.split('\n')).toEqual(['data', '1000:1000', '1000:1000 640', '0', '1000', '0:0', 'su-setuid', 'port 80', '']);
    await t.driver.destroy(s.id);
  }, 120_000);

  it('on Debian, root inside adds users, su works, and apt installs a package (dropping to its _apt user)', async (ctx) => {
    // The image is built once per machine (debian-image.test.ts says more); under CI=true a skip fails the run.
    if (process.env.COVE_SANDBOX_DEBIAN === '0') ctx.skip('COVE_SANDBOX_DEBIAN=0');
    const s = spec({ image: 'debian:12', diskMb: 1024 });
    await t.driver.create(s);
    await t.driver.start(s);
    await t.driver.startAgent(s.id, 'k'.repeat(64));
    const script = [
      'set -e',
      'useradd -m -u 1000 dev',
      'su dev -c "id -un; touch ~/mine"',
      'stat -c "%U %u" /home/dev/mine',
      // A package of files owned by uid 1000, installed offline by apt (which reads it as _apt).
      'mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/share/cove-test',
      "printf 'Package: cove-test\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@example.com>\\nDescription: t\\n' > /tmp/pkg/DEBIAN/control",
      'echo hi > /tmp/pkg/usr/share/cove-test/file && chown -R 1000:1000 /tmp/pkg/usr/share/cove-test',
      'dpkg-deb --build /tmp/pkg /tmp/cove-test.deb >/dev/null && chmod 755 /tmp && chmod 644 /tmp/cove-test.deb',
      'apt-get install -y -q /tmp/cove-test.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }',
      "dpkg -s cove-test | grep '^Status:'",
      'stat -c "%u:%g" /usr/share/cove-test/file',
      'setpriv --reuid=_apt --regid=nogroup --clear-groups id -un',
    ].join('\n');
    const res = await execIn(t.driver, s.id, script);
    expect(res).toMatchObject({ code: 0, stdout: 'dev\ndev 1000\nStatus: install ok installed\n1000:1000\n_apt\n' });
    const range = t.driver.idRangeOf(s.id);
    expect(statSync(path.join(upper(s.id), 'usr/share/cove-test/file')).uid).toBe((range?.base ?? 0) + 1000);
    await t.driver.destroy(s.id);
  }, 900_000);

  it("two workspaces have disjoint ranges, claimed host-wide; each token is readable by its own workspace's root only", async () => {
    const a = await running(t.driver, 'c'.repeat(64));
    const b = await running(t.driver, 'd'.repeat(64));
    expect(a.range.base + ID_RANGE_SIZE <= b.range.base || b.range.base + ID_RANGE_SIZE <= a.range.base).toBe(true);
    const claims = await idRangeClaims();
    for (const w of [a, b]) {
      expect(claims).toContainEqual({ base: w.range.base, size: ID_RANGE_SIZE, dataDir: t.dataDir, slot: t.driver.slotOf(w.s.id) });
    }
    // Rotated once, so that the file checked is one a rotation wrote.
    await t.driver.setAgentToken(a.s.id, 'e'.repeat(64));
    const tokenDir = path.join(t.dataDir, 'workspaces', t.driver.slotOf(a.s.id) ?? '', 'token');
    const file = statSync(path.join(tokenDir, 'token'));
    expect({ uid: file.uid, gid: file.gid, mode: file.mode & 0o7777 }).toEqual({ uid: a.range.base, gid: a.range.base, mode: 0o400 });
    expect(asHostUser(a.range.base, tokenDir, ['cat', 'token'])).toMatchObject({ status: 0, stdout: `${'e'.repeat(64)}\n` });
    expect(asHostUser(b.range.base, tokenDir, ['cat', 'token']).status).not.toBe(0);
    expect(asHostUser(a.range.base + 1000, tokenDir, ['cat', 'token']).status).not.toBe(0);
    // Inside: readable, not writable, and the directory not listable.
    const inside = await execIn(
      t.driver,
      a.s.id,
      'cat /run/cove/token; touch /run/cove/x 2>/dev/null || echo no-write; ls /run/cove 2>/dev/null || echo no-list',
    );
    expect(inside.stdout).toBe(`${'e'.repeat(64)}\nno-write\nno-list\n`);
    await t.driver.destroy(a.s.id);
    await t.driver.destroy(b.s.id);
  }, 120_000);

  it('delete frees the range and removes the idmapped mounts and the user namespace', async () => {
    const { s, range } = await running(t.driver, 'f'.repeat(64));
    const slot = t.driver.slotOf(s.id) ?? '';
    const mountsOf = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(slot));
    expect(mountsOf().filter((l) => l.includes('idmapped')).length).toBeGreaterThanOrEqual(1);
    expect(mountsOf().some((l) => l.includes(`${slot}/userns`))).toBe(true);
    expect((await idRangeClaims()).some((c) => c.base === range.base)).toBe(true);
    await t.driver.destroy(s.id);
    expect(mountsOf()).toEqual([]);
    expect((await idRangeClaims()).some((c) => c.base === range.base)).toBe(false);
  }, 120_000);

  it('a driver restart, and a host restart, keep each workspace its range', async () => {
    const { s, range } = await running(t.driver, 'g'.repeat(64));
    const again = await reopen(t, SLOT);
    expect(again.idRangeOf(s.id)).toEqual(range);
    expect(again.agentRunning(s.id)).toBe(true);
    // Stopped and started by the reopened driver: the same range, the same files.
    await execIn(again, s.id, 'echo kept > /root/kept');
    await again.stop(s.id);
    // As a host restart leaves it: the pinned user namespace and the network namespace gone too.
    const slot = again.slotOf(s.id) ?? '';
    await run(['umount', path.join(t.dataDir, 'workspaces', slot, 'userns')]);
    await run(['ip', 'netns', 'del', `cove-${slot}`]);
    await again.start(s);
    await again.startAgent(s.id, 'h'.repeat(64));
    const res = await execIn(again, s.id, 'cat /proc/self/uid_map; stat -c %u /root/kept');
    expect(res.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toEqual([`0 ${range.base} ${ID_RANGE_SIZE}`, '0', '']);
    expect((await idRangeClaims()).filter((c) => c.base === range.base)).toHaveLength(1);
    await again.destroy(s.id);
  }, 120_000);

  it("moves a workspace of an earlier version (no range) into one: its upper layer's owners shifted once", async () => {
    // The previous version's layout, made by hand: state.json without a range, a token directory of 0700, an
    // ext4 disk with upper/ and work/ owned by the host's ids, the overlay mounted in the slot's directory and a
    // network namespace of the host's user namespace.
    const s = spec();
    const dir = path.join(t.dataDir, 'workspaces', s.id);
    await mkdir(path.join(dir, 'token'), { recursive: true, mode: 0o700 });
    await writeFile(path.join(dir, 'token/token'), 'old\n', { mode: 0o600 });
    const network = { publicAccess: false, allowInternet: true, privateLinkIds: [], ingressPorts: [], egress: [], privateLinks: [] };
    await writeFile(
      path.join(dir, 'state.json'),
      JSON.stringify({ id: s.id, slot: s.id, ip: `10.87.${SLOT}.200`, image: 'host', network }),
    );
    await writeFile(path.join(dir, 'disk.ext4'), '');
    await run(['truncate', '-s', '64M', path.join(dir, 'disk.ext4')]);
    await run(['mkfs.ext4', '-q', '-F', '-m', '0', path.join(dir, 'disk.ext4')]);
    for (const d of ['disk', 'rootfs']) await mkdir(path.join(dir, d));
    await run(['mount', '-t', 'ext4', '-o', 'loop', path.join(dir, 'disk.ext4'), path.join(dir, 'disk')]);
    const up = path.join(dir, 'disk/upper');
    for (const d of ['root', 'home/dev', 'srv']) await mkdir(path.join(up, d), { recursive: true });
    await mkdir(path.join(dir, 'disk/work'));
    await writeFile(path.join(up, 'root/old.txt'), 'old\n');
    await writeFile(path.join(up, 'home/dev/file'), 'dev\n');
    await lchown(path.join(up, 'home/dev'), 1000, 1000);
    await lchown(path.join(up, 'home/dev/file'), 1000, 1001);
    await symlink('file', path.join(up, 'home/dev/link'));
    await lchown(path.join(up, 'home/dev/link'), 1000, 1000);
    await copyFile('/usr/bin/id', path.join(up, 'srv/suid-id'));
    await chmod(path.join(up, 'srv/suid-id'), 0o4755);
    await writeFile(path.join(up, 'root/outside'), 'x\n');
    await lchown(path.join(up, 'root/outside'), 200_000, 200_000);
    const lower = path.join(IMAGES_DIR, 'host/rootfs');
    await run([
      'mount',
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${up},workdir=${path.join(dir, 'disk/work')}`,
      path.join(dir, 'rootfs'),
    ]);
    await run(['ip', 'netns', 'add', `cove-${s.id}`]);
    // Its container still running, as the previous version ran it: no user namespace, root the host's.
    const old = ociConfig({
      id: s.id,
      rootfs: path.join(dir, 'rootfs'),
      hostname: 'old',
      args: ['/bin/sleep', '600'],
      env: ['PATH=/usr/bin:/bin'],
      cwd: '/',
      netnsPath: `/run/netns/cove-${s.id}`,
      userns: { path: '', base: 0, size: 0 },
      cgroupsPath: `/cove-test${SLOT}/${s.id}`,
      cpus: 1,
      memoryMb: 128,
      pidsLimit: 100,
      binds: [{ source: '/usr', destination: '/usr', readonly: true }],
    }) as { linux: { namespaces: Array<{ type: string }>; uidMappings?: unknown; gidMappings?: unknown } };
    old.linux.namespaces = old.linux.namespaces.filter((n) => n.type !== 'user');
    delete old.linux.uidMappings;
    delete old.linux.gidMappings;
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(old));
    const log = await open(path.join(dir, 'agent.log'), 'a');
    await t.driver.runtime.create(s.id, dir, log.fd).finally(() => log.close());
    await t.driver.runtime.start(s.id);
    const oldPid = (await t.driver.runtime.state(s.id))?.pid ?? 0;
    expect(hostUids(oldPid)).toEqual([0, 0, 0, 0]);

    const again = await reopen(t, SLOT);
    try {
      await checkMigrated(again);
    } finally {
      // The first driver does not know this workspace: the one that migrated it deletes it, whatever failed.
      await again.destroy(s.id).catch(() => {});
    }
    expect(existsSync(dir)).toBe(false);

    async function checkMigrated(again: SandboxDriver) {
      const range = again.idRangeOf(s.id);
      if (!range) throw new Error('not migrated');
      // The old container is gone (the control plane's recovery boots the workspace again).
      expect(await again.runtime.state(s.id)).toBeUndefined();
      expect(processAlive(oldPid)).toBe(false);
      expect(JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')).idRange).toEqual(range);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`${dir}/rootfs`);
      expect(existsSync(path.join(dir, 'rootfs'))).toBe(false);
      await again.start(s);
      await again.startAgent(s.id, 'i'.repeat(64));
      const owners = (p: string) => {
        const st = lstatSync(path.join(up, p));
        return [st.uid - range.base, st.gid - range.base, st.mode & 0o7777];
      };
      expect(owners('.')).toEqual([0, 0, 0o755]);
      expect(owners('root/old.txt')).toEqual([0, 0, 0o644]);
      expect(owners('home/dev/file')).toEqual([1000, 1001, 0o644]);
      expect(owners('home/dev/link').slice(0, 2)).toEqual([1000, 1000]);
      // chown clears set-id bits; the shift restores them.
      expect(owners('srv/suid-id')).toEqual([0, 0, 0o4755]);
      // An id the range cannot hold becomes its nobody.
      expect(owners('root/outside').slice(0, 2)).toEqual([65534, 65534]);
      const inside = await execIn(
        again,
        s.id,
        'id -u; cat /root/old.txt; stat -c "%u:%g" /home/dev/file; setpriv --reuid=1000 --regid=1000 --clear-groups /srv/suid-id -u; echo new > /root/new.txt',
      );
      expect(inside).toMatchObject({ code: 0, stdout: '0\nold\n1000:1001\n0\n' });
      expect(statSync(path.join(up, 'root/new.txt')).uid).toBe(range.base);
      expect(statSync(path.join(dir, 'token/token'))).toMatchObject({ uid: range.base, mode: 0o100400 });
      await again.destroy(s.id);
      expect((await idRangeClaims()).some((c) => c.base === range.base)).toBe(false);
    }
  }, 180_000);
});
