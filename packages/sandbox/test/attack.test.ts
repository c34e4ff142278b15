/**
 * Issue #13: the sandbox, attacked from inside. Root in workspace A (the `host` image) tries what an attacker
 * would to reach the host or its neighbour B; every attempt must be refused. Each test checks the outcome —
 * the errno or exit status inside and, where the host can see it, the absence of any effect there (a host
 * file unchanged, a host process alive, a limit as it was) — not how the refusal is made, so that it holds
 * whether capabilities, seccomp, read-only mounts or a user namespace refuse it. Where a user namespace turns
 * one refusal into another (EPERM or EACCES), either is accepted; success never is.
 *
 * The probes (attack-kit.ts) answer `ok` or the errno's name. The first test runs them on the host, where
 * they get past the permission checks: that is what shows each one can tell success from refusal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupMode, defaultAgentFiles, netnsName, readLimits } from '../src/index.js';
import { run } from '../src/run-command.js';
import { type Probe, probeAnswers, probeCommand, probeOnHost } from './attack-kit.js';
import { CGROUPS, connectFrom, connectFromHost, execIn, network, openTestDriver, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 13;
const agentFiles = defaultAgentFiles();
const skip = skipReason();

/** A refusal by permission: EPERM, or EACCES where a user namespace answers with it. */
const DENIED = ['EPERM', 'EACCES'];
/** A system call the seccomp filter refuses: EPERM today; an allow-list may answer ENOSYS instead. */
const FILTERED = ['EPERM', 'EACCES', 'ENOSYS'];
/** A write to a read-only mount, or one a user namespace refuses by permission. */
const READ_ONLY = ['EROFS', ...DENIED];

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The command line of a host process, or undefined once it is gone. */
function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Host processes whose command line contains `text`. */
function hostPidsWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => cmdline(pid)?.includes(text));
}

/** A TCP server on the host that counts the connections it accepts. */
async function countingServer(host: string): Promise<{ port: number; accepted: () => number; close: () => void }> {
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted, close: () => server.close() };
}

/** Connects from the host to the server and answers how many connections it has accepted since it started. */
async function acceptedAfterHostConnects(server: Awaited<ReturnType<typeof countingServer>>, host: string): Promise<number> {
  expect(await connectFromHost(host, server.port)).toBe('connected');
  for (let i = 0; i < 100 && server.accepted() === 0; i++) await new Promise((r) => setTimeout(r, 20));
  return server.accepted();
}

describe.skipIf(skip)(`sandbox attacked from inside (${CGROUPS})${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: TestDriver;
  /** The attacker. */
  const a = spec();
  /** Its neighbour. */
  const b = spec();
  const tag = randomBytes(6).toString('hex');
  /** A host directory with a marker file no workspace may see. */
  let hostDir = '';
  let hostMarker = '';
  /** A host process (sleep) no workspace may see or signal. */
  let hostSleeper: ChildProcess | undefined;
  const neighbourFile = `/root/neighbour-secret-${tag}`;
  /** Unique arguments for the host's sleeping process and the neighbour's. */
  const hostSleep = `3600.1${Number.parseInt(tag.slice(0, 6), 16)}`;
  const neighbourSleep = `3600.2${Number.parseInt(tag.slice(6), 16)}`;

  /** Runs a shell script as root inside workspace `id` (runc exec, not through the agent). */
  const inside = (id: string, script: string) => execIn(t.driver, id, script);
  /** Runs the probes inside workspace `id`, one answer each. */
  const probe = async (id: string, calls: Probe[]): Promise<string[]> => {
    const res = await inside(id, probeCommand(calls));
    if (res.code !== 0) throw new Error(`the probes failed inside: ${res.stderr}`);
    return probeAnswers(res.stdout, calls);
  };
  /**
   * The pid, as seen inside, of the workspace's first process (tini): 1 in its own PID namespace. The attacks
   * that write through /proc/<pid>/ or send signals name it rather than assume 1, so that a sandbox that lost
   * its PID namespace fails them without touching the host's init.
   */
  const initPid = async (id: string): Promise<number> => {
    const [pid] = await probe(id, [['pid_of', Buffer.from('/opt/cove/bin/tini ').toString('hex')]]);
    if (!(Number(pid) > 0)) throw new Error(`no tini inside ${id}`);
    return Number(pid);
  };
  /** The host directory holding a slot's files (token/, agent.log, disk/…). */
  const slotDir = (id: string) => path.join(t.dataDir, 'workspaces', t.driver.slotOf(id) ?? id);

  beforeAll(async () => {
    t = await openTestDriver(SLOT);
    hostDir = await mkdtemp(path.join(os.tmpdir(), 'cove-attack-host-'));
    hostMarker = path.join(hostDir, `host-secret-${tag}`);
    await writeFile(hostMarker, `host secret ${tag}\n`);
    hostSleeper = spawn('/usr/bin/sleep', [hostSleep], { stdio: 'ignore' });
    for (const s of [a, b]) {
      await t.driver.create(s);
      await t.driver.start(s);
      await t.driver.startAgent(s.id, (s === a ? 'a' : 'b').repeat(64));
    }
    // The neighbour: a secret file in its own root, a process, servers on two ports besides the agent's.
    const setup = await inside(
      b.id,
      `echo ${tag} > ${neighbourFile}
       (sleep ${neighbourSleep} </dev/null >/dev/null 2>&1 &)
       for port in 8080 2222; do
         (python3 -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', $port)); s.listen(); [c.close() for c, _ in iter(s.accept, None)]" </dev/null >/dev/null 2>&1 &)
       done
       for i in $(seq 50); do timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && exec 4<>/dev/tcp/127.0.0.1/2222' 2>/dev/null && break; sleep 0.1; done
       echo ready`,
    );
    expect(setup.stdout).toContain('ready');
  }, 300_000);

  afterAll(async () => {
    hostSleeper?.kill('SIGKILL');
    await t?.close();
    if (hostDir) await rm(hostDir, { recursive: true, force: true });
  }, 120_000);

  /** A device number as mknod wants it: major and minor. */
  const majorMinor = (dev: number): [number, number] => [Math.floor(dev / 256) & 0xfff, (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00)];
  /** The device of the host's root file system. */
  const hostRootDevice = () => majorMinor(statSync('/').dev);
  /** The loop device holding the neighbour's disk (its image file, loop-mounted on the host). */
  const neighbourDisk = () => {
    // The slot's disk.ext4 links to its file in the disk pool, which is what the loop device names.
    const image = realpathSync(path.join(slotDir(b.id), 'disk.ext4'));
    const loop = readdirSync('/sys/block').find(
      (d) => d.startsWith('loop') && readIfExists(`/sys/block/${d}/loop/backing_file`)?.trim() === image,
    );
    if (loop === undefined) throw new Error(`no loop device holds ${image}`);
    return majorMinor(statSync(`/dev/${loop}`).rdev);
  };

  it('the probes are sound: on the host, as root outside any workspace, each gets past its permission check', async () => {
    const scratch = path.join(hostDir, 'scratch');
    await writeFile(scratch, 'scratch\n');
    // Settings written with the value they have: the write goes through and changes nothing.
    const swappiness = readFileSync('/proc/sys/vm/swappiness', 'utf8').trim();
    const rcu = readFileSync('/sys/kernel/rcu_expedited', 'utf8').trim();
    const answers = await probeOnHost([
      ['keyctl'],
      ['bpf'],
      ['reboot'],
      ['settimeofday'],
      ['swapon'],
      ['mount'],
      ['unshare_user'],
      ['unshare_mount'],
      ['open_by_handle', '/', 'tmp'],
      ['mknod_read', 'b', ...neighbourDisk(), path.join(hostDir, 'neighbour-disk')],
      ['mknod_read', 'c', 1, 11, path.join(hostDir, 'kmsg')],
      ['chroot_escape', hostMarker, path.join(hostDir, 'jail')],
      ['reopen_write', scratch],
      ['write', scratch],
      ['chmod', scratch],
      ['link_write', scratch, path.join(hostDir, 'link')],
      ['replace', scratch],
      ['symlink_read', hostMarker, path.join(hostDir, 'symlink')],
      ['put', '/proc/sys/vm/swappiness', swappiness],
      ['put', '/sys/kernel/rcu_expedited', rcu],
      ['processes_with', Buffer.from(`sleep ${hostSleep}`).toString('hex')],
    ]);
    expect(answers).toEqual([
      'ok',
      'ok',
      'EINVAL', // the wrong magic numbers, checked after the capability: nothing reboots
      'ok', // no new time: nothing changes
      'ENOENT', // no such swap file
      'ENODEV', // no such file system type
      'ok',
      'ok',
      'opened, found tmp',
      'ok read 8192 bytes',
      expect.stringMatching(/^ok read [1-9]\d* bytes$/),
      'escaped',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      `read: host secret ${tag}\n`,
      'ok',
      'ok',
      '1',
    ]);
    // Appended to three times (reopen, write, through the link), then replaced.
    expect(readFileSync(scratch, 'utf8')).toBe('cove-attack\n');
  });

  describe('host files, through /proc, descriptors and read-only binds', () => {
    it("/proc/1/root is the workspace's own root, and no /proc/<pid>/root or /cwd of a visible process leads to a host file", async () => {
      expect(readFileSync(hostMarker, 'utf8')).toContain(tag);
      const res = await inside(
        a.id,
        `[ "$(stat -L -c %d:%i /proc/1/root)" = "$(stat -c %d:%i /)" ] && echo "pid 1's root is /"
         for p in /proc/[0-9]*; do for l in root cwd; do cat "$p/$l${hostMarker}"; ls "$p/$l${hostDir}"; done; done 2>/dev/null
         find / \\( -path /proc -o -path /sys \\) -prune -o -name 'host-secret-${tag}' -print 2>/dev/null
         echo walked`,
      );
      expect(res.stdout).toContain("pid 1's root is /");
      expect(res.stdout).toContain('walked');
      expect(res.stdout).not.toContain(tag);
    });

    it("cannot write the agent's files, its node, the token or resolv.conf: not directly, not by re-opening a read-only descriptor through /proc/self/fd, not by chmod, rename or hard link", async () => {
      const targets: Array<[inside: string, host: string]> = [
        ['/opt/cove/app/packages/agent/bin/cove-agent.js', path.join(agentFiles.appDir, 'packages/agent/bin/cove-agent.js')],
        ['/opt/cove/app/node_modules/pino/package.json', path.join(agentFiles.appDir, 'node_modules/pino/package.json')],
        ['/opt/cove/bin/node', agentFiles.node],
        ['/run/cove/token', path.join(slotDir(a.id), 'token/token')],
        ['/etc/resolv.conf', path.join(slotDir(a.id), 'resolv.conf')],
        ['/usr/bin/env', '/usr/bin/env'],
      ];
      const before = targets.map(([, host]) => sha(host));
      const init = await initPid(a.id);
      const calls: Probe[] = targets.flatMap(([file]) => [
        ['write', file],
        ['reopen_write', file],
        ['reopen_write', `/proc/${init}/root${file}`],
        ['chmod', file],
        ['replace', file],
        ['link_write', file, '/root/cove-attack-link'],
      ]);
      const answers = await probe(a.id, calls);
      calls.forEach((call, i) => {
        const answer = answers[i];
        // A hard link across mounts is EXDEV; a running binary opened for writing may be ETXTBSY first;
        // renaming over a file that is itself a mount point (a file bind) is EBUSY.
        const refused = { link_write: ['EXDEV', ...READ_ONLY], replace: ['EBUSY', ...READ_ONLY] }[call[0]] ?? [...READ_ONLY, 'ETXTBSY'];
        expect.soft(refused, `${call.join(' ')} answered ${answer}`).toContain(answer);
      });
      expect(targets.map(([, host]) => sha(host))).toEqual(before);
    });

    it("open_by_handle_at cannot open the host's root directory by a handle, through a file bind-mounted from it (shocker)", async () => {
      // /etc/resolv.conf is a file of the host's root file system; inode 2 is that file system's root directory.
      const [answer] = await probe(a.id, [['open_by_handle', '/etc/resolv.conf', 'tmp']]);
      expect(FILTERED).toContain(answer);
    });

    it("cannot climb out of a read-only bind with '..', a directory descriptor or symlinks", async () => {
      // On the host, the directories bound in have parents full of other things: the repository, the slot's files.
      expect(statSync(path.join(agentFiles.appDir, 'packages/../README.md')).isFile()).toBe(true);
      expect(statSync(path.join(slotDir(a.id), 'token/../state.json')).isFile()).toBe(true);
      const climb = '../'.repeat(12);
      const answers = await probe(a.id, [
        ['listdir', '/opt/cove/app/packages/..'],
        ['exists', '/opt/cove/app/packages/../README.md'],
        ['exists', '/run/cove/../state.json'],
        ['read_at', '/opt/cove/app/packages', `../README.md`],
        ['read_at', '/run/cove', `${climb}${hostMarker.slice(1)}`],
        ['symlink_read', `${climb}${hostMarker.slice(1)}`, '/root/cove-up'],
        ['symlink_read', hostMarker, '/tmp/cove-abs'],
        ['symlink_write', '/run/cove/token', '/root/cove-token-link'],
      ]);
      // The parents inside are the workspace's own: its /opt/cove/app, its /run.
      expect(answers.slice(0, 3)).toEqual(['node_modules packages', 'no', 'no']);
      // Nothing climbs to a host file: not found, or (a user namespace) not searchable; never read.
      for (const answer of answers.slice(3, 7)) expect(['ENOENT', ...DENIED]).toContain(answer);
      expect(READ_ONLY).toContain(answers[7]);
    });
  });

  describe('devices', () => {
    // The neighbour's disk and the kernel log are what the host can read (the first test); on this machine
    // the host's own root disk refuses even the host's root, so it is tried, but does not tell by itself.
    it("cannot read the host's disk, its neighbour's disk or the kernel log through a device node it makes (the device cgroup)", async () => {
      const answers = await probe(a.id, [
        ['mknod_read', 'b', ...hostRootDevice(), '/tmp/cove-disk'],
        ['mknod_read', 'b', ...hostRootDevice(), '/dev/cove-disk'],
        ['mknod_read', 'b', ...neighbourDisk(), '/root/cove-neighbour-disk'],
        ['mknod_read', 'c', 1, 11, '/dev/cove-kmsg'],
      ]);
      // Either the node is made and opening it is refused, or (with a user namespace) making it is refused.
      for (const answer of answers) expect(answer).toMatch(/^(ok (EPERM|EACCES)|(EPERM|EACCES) ENOENT)$/);
    });
  });

  describe('kernel settings: /sys, /proc/sys, sysrq', () => {
    it("cannot write /sys: a kernel setting, its own network device's MTU", async () => {
      const rcu = readFileSync('/sys/kernel/rcu_expedited', 'utf8');
      const mtu = async () =>
        (await run(['ip', '-n', netnsName(t.driver.slotOf(a.id) ?? a.id), '-o', 'link', 'show', 'eth0'])).stdout.match(/mtu (\d+)/)?.[1];
      const mtuBefore = await mtu();
      expect(mtuBefore).toMatch(/^\d+$/);
      try {
        const answers = await probe(a.id, [
          ['put', '/sys/kernel/rcu_expedited', rcu.trim() === '0' ? '1' : '0'],
          ['put', '/sys/class/net/eth0/mtu', '1280'],
        ]);
        for (const answer of answers) expect(READ_ONLY).toContain(answer);
        const res = await inside(a.id, 'ip link set eth0 mtu 1280; echo "ip=$?"');
        expect(res.stdout).toMatch(/ip=[1-9]/);
        expect(readFileSync('/sys/kernel/rcu_expedited', 'utf8')).toBe(rcu);
        expect(await mtu()).toBe(mtuBefore);
      } finally {
        // Should the attack ever get through, the host gets its setting back.
        if (readFileSync('/sys/kernel/rcu_expedited', 'utf8') !== rcu) writeFileSync('/sys/kernel/rcu_expedited', rcu);
      }
    });

    it('cannot write /proc/sys (hostname, core_pattern, vm.swappiness) or /proc/sysrq-trigger', async () => {
      const settings = ['kernel/hostname', 'kernel/core_pattern', 'vm/swappiness'];
      const host = () => settings.map((k) => readFileSync(`/proc/sys/${k}`, 'utf8'));
      const before = host();
      try {
        const answers = await probe(a.id, [
          ['put', '/proc/sys/kernel/hostname', 'cove-pwned'],
          ['put', '/proc/sys/kernel/core_pattern', '|/tmp/cove-pwned %p'],
          ['put', '/proc/sys/vm/swappiness', '1'],
          ['put', '/proc/sysrq-trigger', 'h'], // h: help, harmless had it gone through
        ]);
        expect(answers.slice(0, 3).filter((x) => !READ_ONLY.includes(x))).toEqual([]);
        // This kernel has no magic SysRq key (no /proc/sysrq-trigger on the host either): then there is nothing to write.
        expect(existsSync('/proc/sysrq-trigger') ? READ_ONLY : ['ENOENT']).toContain(answers[3]);
        const res = await inside(a.id, 'sysctl -w vm.swappiness=1; echo "sysctl=$?"; hostname cove-pwned; echo "hostname=$?"; hostname');
        expect(res.stdout).toMatch(/sysctl=[1-9]/);
        expect(res.stdout).toMatch(/hostname=[1-9]/);
        expect(res.stdout).not.toContain('cove-pwned');
        expect(host()).toEqual(before);
      } finally {
        // Should the attack ever get through, the host gets its settings back.
        settings.forEach((k, i) => {
          if (readFileSync(`/proc/sys/${k}`, 'utf8') !== before[i]) writeFileSync(`/proc/sys/${k}`, before[i] ?? '');
        });
      }
    });

    it(`cannot raise its own cgroup limits (${CGROUPS}): memory, swap, CPU, pids stay as the host set them`, async () => {
      const relative = `cove-test${SLOT}/${t.driver.slotOf(a.id) ?? a.id}`;
      const before = await readLimits(relative);
      expect(before.memory).toBe(String(a.memoryMb * 1024 * 1024));
      const files =
        cgroupMode() === 'v1'
          ? {
              memory: 'memory/memory.limit_in_bytes',
              swap: 'memory/memory.memsw.limit_in_bytes',
              cpu: 'cpu/cpu.cfs_quota_us',
              pids: 'pids/pids.max',
            }
          : { memory: 'memory.max', swap: 'memory.swap.max', cpu: 'cpu.max', pids: 'pids.max' };
      const big = String(64 * 1024 * 1024 * 1024);
      const answers = await probe(a.id, [
        ['put', `/sys/fs/cgroup/${files.memory}`, big],
        ['put', `/sys/fs/cgroup/${files.swap}`, big],
        ['put', `/sys/fs/cgroup/${files.cpu}`, cgroupMode() === 'v1' ? '-1' : 'max'],
        ['put', `/sys/fs/cgroup/${files.pids}`, 'max'],
        ['mkdir', `/sys/fs/cgroup/${path.dirname(files.pids)}/cove-escape`],
      ]);
      for (const answer of answers) expect(READ_ONLY).toContain(answer);
      expect(await readLimits(relative)).toEqual(before);
    });
  });

  describe('privileged operations', () => {
    // This kernel has neither a module loader nor kexec (on the host, too, the calls answer ENOSYS): only a
    // refusal by permission shows that the workspace was refused, rather than the kernel lacking them.
    it('cannot load kernel modules (init_module, finit_module)', async () => {
      const answers = await probe(a.id, [['init_module'], ['finit_module']]);
      for (const answer of answers) expect(DENIED).toContain(answer);
    });

    it("cannot set the clock (date -s, settimeofday): the host's clock does not move", async () => {
      const before = Date.now();
      const res = await inside(a.id, 'date -s @86400; echo "date=$?"; date +%Y');
      const [answer] = await probe(a.id, [['settimeofday']]);
      const after = Date.now();
      // Should the attack ever get through, the host gets its time back (roughly) before the test fails.
      if (after < before) await run(['date', '-s', `@${Math.ceil(before / 1000)}`]);
      expect(res.stdout).toMatch(/date=[1-9]/);
      expect(res.stdout).not.toMatch(/^1970$/m);
      expect(DENIED).toContain(answer);
      expect(after).toBeGreaterThanOrEqual(before);
    });

    it('cannot reboot: reboot(2) is refused before it even reads its arguments', async () => {
      const [answer] = await probe(a.id, [['reboot']]);
      expect(DENIED).toContain(answer);
      expect((await t.driver.runtime.state(t.driver.slotOf(a.id) ?? a.id))?.status).toBe('running');
    });

    it("cannot add swap (swapon): the host's swap list is unchanged", async () => {
      const before = readFileSync('/proc/swaps', 'utf8');
      const res = await inside(
        a.id,
        'dd if=/dev/zero of=/root/cove-swap bs=1M count=4 2>/dev/null && mkswap /root/cove-swap >/dev/null && swapon /root/cove-swap; echo "swapon=$?"',
      );
      const [answer] = await probe(a.id, [['swapon']]);
      expect(res.stdout).toMatch(/swapon=[1-9]/);
      expect(DENIED).toContain(answer);
      expect(readFileSync('/proc/swaps', 'utf8')).toBe(before);
    });

    it('cannot mount anything: proc, sysfs, tmpfs, a cgroup hierarchy (release_agent), a bind, a remount', async () => {
      const res = await inside(
        a.id,
        `before=$(cat /proc/self/mountinfo); mkdir -p /root/mnt
         mount -t proc proc /root/mnt; echo "proc=$?"
         mount -t sysfs sysfs /root/mnt; echo "sysfs=$?"
         mount -t tmpfs none /root/mnt; echo "tmpfs=$?"
         mount -t cgroup -o memory cgroup /root/mnt; echo "cgroup=$?"
         mount --bind /usr /root/mnt; echo "bind=$?"
         mount -o remount,rw /sys; echo "remount=$?"
         [ "$before" = "$(cat /proc/self/mountinfo)" ] && echo "mounts unchanged"`,
      );
      for (const kind of ['proc', 'sysfs', 'tmpfs', 'cgroup', 'bind', 'remount']) expect(res.stdout).toMatch(new RegExp(`${kind}=[1-9]`));
      expect(res.stdout).toContain('mounts unchanged');
      const [answer] = await probe(a.id, [['mount']]);
      expect(DENIED).toContain(answer);
    });

    it('cannot make new namespaces: unshare -U, -m, -Urm', async () => {
      const res = await inside(a.id, 'unshare -U true; echo "U=$?"; unshare -m true; echo "m=$?"; unshare -Urm true; echo "Urm=$?"');
      expect(res.stdout).toMatch(/U=[1-9]/);
      expect(res.stdout).toMatch(/m=[1-9]/);
      expect(res.stdout).toMatch(/Urm=[1-9]/);
      for (const answer of await probe(a.id, [['unshare_user'], ['unshare_mount']])) expect(FILTERED).toContain(answer);
    });

    it("the classic chroot break-out ends at the workspace's own root", async () => {
      const [answer] = await probe(a.id, [['chroot_escape', hostMarker, '/tmp/cove-jail']]);
      // Either chroot is refused, or climbing out of the jail stops at the workspace's root (it has /opt/cove).
      if (DENIED.includes(answer ?? '')) return;
      expect(answer).toMatch(/^contained: .*\bopt\b/);
    });

    it("cannot see or signal host processes (nor its neighbour's): not in /proc, kill and ptrace answer ESRCH, and they live on", async () => {
      const hostPid = hostSleeper?.pid ?? 0;
      const neighbourPid = hostPidsWith(`sleep ${neighbourSleep}`)[0] ?? 0;
      expect(cmdline(hostPid)).toBe(`/usr/bin/sleep ${hostSleep}`);
      expect(neighbourPid).toBeGreaterThan(0);
      const hex = (text: string) => Buffer.from(text).toString('hex');
      expect(
        await probe(a.id, [
          ['exists', `/proc/${hostPid}`],
          ['exists', `/proc/${neighbourPid}`],
          ['processes_with', hex(`sleep ${hostSleep}`)],
          ['processes_with', hex(`sleep ${neighbourSleep}`)],
          ['processes_with', hex('/opt/cove/bin/tini')], // the control: its own processes are found
        ]),
      ).toEqual(['no', 'no', '0', '0', '1']);
      const res = await inside(a.id, `kill -9 ${hostPid}; echo "kill=$?"; kill -9 ${neighbourPid}; echo "kill=$?"`);
      expect(res.stdout.trim().split('\n')).toEqual(['kill=1', 'kill=1']);
      expect(res.stderr).toMatch(/No such process/);
      expect(
        await probe(a.id, [
          ['ptrace_attach', hostPid],
          ['ptrace_attach', neighbourPid],
        ]),
      ).toEqual(['ESRCH', 'ESRCH']);
      expect(hostSleeper?.exitCode).toBeNull();
      expect(cmdline(hostPid)).toBe(`/usr/bin/sleep ${hostSleep}`);
      expect(cmdline(neighbourPid)).toContain(`sleep ${neighbourSleep}`);
    });
  });

  describe('the network and the neighbour', () => {
    it("cannot reach the host's services: not on the host's loopback, not on the host side of its link", async () => {
      const hostSide = t.driver.gatewayAddress(a.id) ?? '';
      const loopback = await countingServer('127.0.0.1');
      // On every address, the host side of the workspace's link included.
      const link = await countingServer('0.0.0.0');
      try {
        // 127.0.0.1 inside is the workspace's own loopback: refused there, never the host's.
        expect(await connectFrom(t.driver, a.id, '127.0.0.1', loopback.port)).not.toBe(0);
        // The host side of the link: dropped.
        expect(await connectFrom(t.driver, a.id, hostSide, link.port)).toBe(124);
        expect([loopback.accepted(), link.accepted()]).toEqual([0, 0]);
        // Both servers answer on the host's loopback (the host's own path to the link's address is dropped too).
        expect(await acceptedAfterHostConnects(loopback, '127.0.0.1')).toBe(1);
        expect(await acceptedAfterHostConnects(link, '127.0.0.1')).toBe(1);
      } finally {
        loopback.close();
        link.close();
      }
    }, 60_000);

    /**
     * What a UDP server on the host hears while `send` runs inside: nothing but the control datagram the host
     * sends itself afterwards (by the time it hears that, it would have heard the rest).
     */
    const heardOnHost = async (family: 'udp4' | 'udp6', send: (port: number) => Promise<void>): Promise<string[]> => {
      const received: string[] = [];
      const server = dgram.createSocket(family, (msg) => received.push(msg.toString()));
      await new Promise<void>((resolve) => server.bind(0, family === 'udp4' ? '0.0.0.0' : '::', resolve));
      try {
        const port = server.address().port;
        await send(port);
        const client = dgram.createSocket(family);
        await new Promise<void>((resolve) => client.send('control', port, family === 'udp4' ? '127.0.0.1' : '::1', () => resolve()));
        client.close();
        for (let i = 0; i < 50 && !received.includes('control'); i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 300));
        return received;
      } finally {
        server.close();
      }
    };

    it("cannot reach the host's services with a forged source address either (UDP, where no answer is needed)", async () => {
      const hostSide = t.driver.gatewayAddress(a.id) ?? '';
      const received = await heardOnHost('udp4', async (port) => {
        const answers = await probe(a.id, [
          ['send_udp', '', hostSide, port, 'plain'],
          ['send_udp', t.driver.addressOf(b.id) ?? '', hostSide, port, 'as the neighbour'],
          ['send_udp', '192.0.2.7', hostSide, port, 'as an outside address'],
        ]);
        expect(answers).toEqual(['ok', 'ok', 'ok']);
      });
      expect(received).toEqual(['control']);
    });

    it("cannot reach the host's services over IPv6: no address on the host side of its link, IPv6 from it dropped", async () => {
      const received = await heardOnHost('udp6', async (port) => {
        // To every node on the link (the host side among them, were it an IPv6 node), from the link-local address.
        const res = await inside(
          a.id,
          `python3 -c "import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.sendto(b'v6', ('ff02::1%eth0', ${port})); print('sent')" 2>&1`,
        );
        expect(res.stdout).toContain('sent');
      });
      expect(received).toEqual(['control']);
    });

    it("reaches its neighbour only where policy allows: the agent's port over a private link, no other port", async () => {
      const ipB = t.driver.addressOf(b.id) ?? '';
      // The neighbour's servers listen (seen from inside it).
      expect(await connectFrom(t.driver, b.id, '127.0.0.1', 8080)).toBe(0);
      expect(await connectFrom(t.driver, b.id, '127.0.0.1', 2222)).toBe(0);
      expect(await connectFrom(t.driver, a.id, ipB, 9990)).toBe(124);
      await t.driver.applyNetwork(b.id, network({ privateLinkIds: [a.id], privateLinks: [{ workspaceId: a.id, ip: null }] }));
      try {
        expect(await connectFrom(t.driver, a.id, ipB, 9990)).toBe(0);
        expect(await Promise.all([8080, 2222].map((port) => connectFrom(t.driver, a.id, ipB, port)))).toEqual([124, 124]);
      } finally {
        await t.driver.applyNetwork(b.id, network());
      }
    }, 60_000);

    it("cannot see its neighbour's files: the neighbour's upper layer is mounted nowhere inside", async () => {
      // The file is there, on the host, in the neighbour's upper layer.
      expect(readFileSync(path.join(slotDir(b.id), `disk/upper${neighbourFile}`), 'utf8')).toContain(tag);
      const res = await inside(
        a.id,
        `grep -c '${t.driver.slotOf(b.id)}' /proc/self/mountinfo
         cat /proc/[0-9]*/root${neighbourFile} 2>/dev/null
         find / \\( -path /proc -o -path /sys \\) -prune -o -name 'neighbour-secret-${tag}' -print 2>/dev/null
         echo walked`,
      );
      expect(res.stdout.trim().split('\n')).toEqual(['0', 'walked']);
    });
  });

  it('the seccomp filter refuses keyctl, bpf and kexec_load', async () => {
    const answers = await probe(a.id, [['keyctl'], ['bpf'], ['kexec_load']]);
    expect(FILTERED).toContain(answers[0]);
    expect(FILTERED).toContain(answers[1]);
    // No kexec in this kernel (ENOSYS on the host too): only a refusal by permission tells.
    expect(DENIED).toContain(answers[2]);
    expect((await inside(a.id, 'grep Seccomp: /proc/self/status')).stdout).toContain('Seccomp:\t2');
  });

  // Last: if the log is ever bounded, filling it may leave the attacker's agent unable to log, or end it.
  describe("the host's disk", () => {
    /** Run inside with tini's pid: opens the agent's inspector (SIGUSR1, which tini passes on) and has the agent write 80 MiB to its stdout. */
    const AGENT_WRITES = `
      const port = 9229;
      process.kill(Number(process.argv[2]), 'SIGUSR1');
      let targets;
      for (let i = 0; i < 100 && targets === undefined; i++) {
        targets = await fetch('http://127.0.0.1:' + port + '/json/list').then((r) => r.json(), () => undefined);
        if (targets === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
      await new Promise((r) => ws.addEventListener('open', r));
      const expression = "process.stdout.write(Buffer.alloc(80 * 1024 * 1024, 120)); 'written'";
      ws.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression } }));
      ws.addEventListener('message', (m) => { console.log(String(m.data).slice(0, 300)); process.exit(0); });`;

    it("cannot grow a host file past its disk quota through the agent's log (its stdout): not by re-opening /proc/1/fd/1, not by making the agent write", async () => {
      const state = await t.driver.runtime.state(t.driver.slotOf(a.id) ?? a.id);
      expect(state?.pid).toBeGreaterThan(0);
      const log = readlinkSync(`/proc/${state?.pid}/fd/1`);
      if (!log.startsWith('/')) {
        // A pipe to the host, not a file: nothing to grow.
        expect(log).toMatch(/^pipe:/);
        return;
      }
      const quota = a.diskMb * 1024 * 1024;
      const init = await initPid(a.id);
      const before = statSync(log).size;
      const reopen = await inside(
        a.id,
        `dd if=/dev/zero of=/proc/${init}/fd/1 bs=1M count=${a.diskMb + 16} oflag=append conv=notrunc 2>&1; echo "dd=$?"`,
      );
      const byReopen = statSync(log).size - before;
      const agent = await inside(
        a.id,
        `cat > /tmp/cove-agent-writes.mjs <<'JS'\n${AGENT_WRITES}\nJS\n/opt/cove/bin/node --experimental-websocket /tmp/cove-agent-writes.mjs ${init} 2>&1`,
      );
      const grown = statSync(log).size - before;
      expect(
        grown,
        `${log} grew by ${byReopen} bytes through /proc/${init}/fd/1 (dd: ${reopen.stdout.trim().split('\n').pop()}), ` +
          `${grown - byReopen} more through the agent (${agent.stdout.trim().slice(0, 200)}); the disk quota is ${quota}`,
      ).toBeLessThanOrEqual(quota);
    });
  });
});
