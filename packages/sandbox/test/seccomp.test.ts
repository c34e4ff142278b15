import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { seccompProfile } from '../src/seccomp-profile.js';
import { execIn, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 14;
const skip = skipReason();

/** The calls that reach past a workspace: none may be allowed, whatever the arguments. */
const MUST_REFUSE = [
  'kexec_load',
  'kexec_file_load',
  'init_module',
  'finit_module',
  'delete_module',
  'bpf',
  'perf_event_open',
  'keyctl',
  'add_key',
  'request_key',
  'unshare',
  'setns',
  'mount',
  'umount2',
  'fsopen',
  'open_tree',
  'move_mount',
  'pivot_root',
  'reboot',
  'swapon',
  'swapoff',
  'settimeofday',
  'clock_settime',
  'open_by_handle_at',
  'io_uring_setup',
  'userfaultfd',
  'sethostname',
  'iopl',
  'ioperm',
  'syslog',
  'acct',
];

type Rule = ReturnType<typeof seccompProfile>['syscalls'][number];
const allowRules = (arch: string, kernel = '6.1.0'): Rule[] =>
  seccompProfile(arch, kernel).syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW');
const allowedNames = (arch: string, kernel?: string): Set<string> => new Set(allowRules(arch, kernel).flatMap((r) => r.names));

describe('the seccomp profile (an allow-list)', () => {
  it('refuses by default with EPERM, and allows none of the calls that reach past a workspace', () => {
    for (const arch of ['x64', 'arm64']) {
      const profile = seccompProfile(arch, '6.1.0');
      expect(profile).toMatchObject({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1 });
      const allowed = allowedNames(arch);
      expect(MUST_REFUSE.filter((name) => allowed.has(name))).toEqual([]);
      // clone3 hides its flags from the filter: "not implemented", so libc falls back to clone.
      expect(profile.syscalls.find((r) => r.names.includes('clone3'))).toMatchObject({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    }
  });

  it('allows clone only without namespace flags, socket only for listed families (low 32 bits), personality only for listed values', () => {
    const rules = allowRules('x64');
    const clone = rules.filter((r) => r.names.includes('clone'));
    expect(clone).toHaveLength(1);
    // CLONE_NEWUSER (0x10000000) and CLONE_NEWNS (0x20000) are in the mask that must come out zero.
    expect(clone[0]?.args).toEqual([{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
    const socket = rules.filter((r) => r.names.includes('socket'));
    expect(socket.map((r) => r.args)).toEqual(
      [1, 2, 10, 16, 17].map((family) => [{ index: 0, value: 0xffffffff, valueTwo: family, op: 'SCMP_CMP_MASKED_EQ' }]),
    );
    const personality = rules.filter((r) => r.names.includes('personality'));
    expect(personality.every((r) => r.args?.length === 1 && r.args[0]?.op === 'SCMP_CMP_EQ')).toBe(true);
    expect(personality.map((r) => r.args?.[0]?.value)).not.toContain(0x0400000); // READ_IMPLIES_EXEC
    // Every conditional call has only conditional rules: an unconditional one would allow every argument.
    for (const name of ['clone', 'socket', 'personality']) expect(allowedNames('x64').has(name)).toBe(true);
    expect(rules.filter((r) => r.args === undefined && r.names.some((n) => ['clone', 'socket', 'personality'].includes(n)))).toEqual([]);
  });

  it('names the calls and architectures of the machine it runs on, and keeps ptrace from kernels before 4.8', () => {
    expect(seccompProfile('x64').architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(seccompProfile('arm64').architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(allowedNames('x64').has('arch_prctl')).toBe(true);
    expect(allowedNames('x64').has('set_tls')).toBe(false);
    expect(allowedNames('arm64').has('set_tls')).toBe(true);
    expect(allowedNames('arm64').has('arch_prctl')).toBe(false);
    expect(allowedNames('x64', '4.8.0').has('ptrace')).toBe(true);
    expect(allowedNames('x64', '4.4.0-210-generic').has('ptrace')).toBe(false);
  });
});

describe.skipIf(skip)(`seccomp in a workspace${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT);
  const ws = spec({ memoryMb: 512, diskMb: 128 });
  const probe = readFileSync(new URL('./seccomp-probe.c', import.meta.url)).toString('base64');
  // Sources and scripts travel base64-encoded on the command line: no quoting to get wrong.
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const sh = (script: string) => execIn(t.driver, ws.id, script);
  /** Runs the probe (compiled in the workspace) on the named calls: { call: 'OK' | errno name }. */
  const probeCalls = async (names: string[]): Promise<Record<string, string>> => {
    const res = await sh(`/tmp/probe ${names.join(' ')}`);
    expect(res.stderr).toBe('');
    return Object.fromEntries(
      res.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('=') as [string, string]),
    );
  };

  beforeAll(async () => {
    await t.driver.create(ws);
    await t.driver.start(ws);
    await t.driver.startAgent(ws.id, 's'.repeat(64));
    // The host image's /usr is the host's: its C compiler, with headers and linker.
    const built = await sh(`cd /tmp && echo ${probe} | base64 -d > probe.c && cc -Wall -Werror -O2 -o probe probe.c`);
    expect(built).toMatchObject({ code: 0, stderr: '' });
  }, 300_000);

  it('runs under the filter; a C compiler builds and runs a threaded program', async () => {
    const program = [
      '#include <pthread.h>',
      '#include <stdio.h>',
      'static void *twice(void *v) { *(int *)v *= 2; return 0; }',
      'int main(void) { int v = 21; pthread_t t; pthread_create(&t, 0, twice, &v); pthread_join(t, 0); printf("%d\\n", v); return 0; }',
    ].join('\n');
    const res = await sh(
      `grep Seccomp: /proc/self/status; cd /tmp && echo ${b64(program)} | base64 -d > twice.c && gcc -O2 -pthread -o twice twice.c && ./twice`,
    );
    // Mode 2: a filter.
    expect(res).toEqual({ code: 0, stdout: 'Seccomp:\t2\n42\n', stderr: '' });
  });

  it('runs Python and Node: threads, subprocesses, sockets, a local HTTP round trip', async () => {
    const python = [
      'import concurrent.futures, socket, subprocess, threading',
      'srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()',
      'def serve():',
      '    c, _ = srv.accept(); c.recv(4096); c.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: 3\\r\\n\\r\\npy\\n"); c.close()',
      'th = threading.Thread(target=serve); th.start()',
      'body = subprocess.run(["curl", "-s", f"http://127.0.0.1:{srv.getsockname()[1]}/"], capture_output=True, text=True, check=True).stdout',
      'th.join()',
      'with concurrent.futures.ThreadPoolExecutor(4) as ex: squares = sum(ex.map(lambda x: x * x, range(10)))',
      'a, b = socket.socketpair(); a.send(b"pair"); udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)',
      'print(body.strip(), squares, b.recv(4).decode())',
    ].join('\n');
    const node = [
      'const { Worker } = require("node:worker_threads");',
      'const { execFileSync } = require("node:child_process");',
      'const http = require("node:http");',
      'new Worker("require(\'node:worker_threads\').parentPort.postMessage(6 * 7)", { eval: true }).once("message", (n) => {',
      '  const srv = http.createServer((_q, r) => r.end("node")).listen(0, "127.0.0.1", async () => {',
      '    const body = await (await fetch("http://127.0.0.1:" + srv.address().port + "/")).text();',
      '    console.log(n, body, execFileSync("uname", ["-s"]).toString().trim());',
      '    srv.close();',
      '  });',
      '});',
    ].join('\n');
    const res = await sh(`echo ${b64(python)} | base64 -d | python3 - && echo ${b64(node)} | base64 -d | node -`);
    expect(res).toEqual({ code: 0, stdout: 'py 285 pair\n42 node Linux\n', stderr: '' });
  });

  it('strace traces a command, and attaches to a running sibling', async () => {
    const res = await sh(
      [
        'cd /tmp && strace -f -o run.trace sh -c "sh -c true; echo traced" && grep -c "execve(" run.trace',
        // A sibling blocked on a FIFO; once strace is its tracer (TracerPid), or has given up, the FIFO lets it finish.
        'mkfifo go && (read line < go; echo "got $line") > sibling.out & p=$!',
        'strace -p $p -o attach.trace & s=$!',
        'while kill -0 $s && [ "$(awk \'/^TracerPid/ {print $2}\' /proc/$p/status)" = 0 ]; do sleep 0.1; done',
        'echo go > go; wait $s; cat sibling.out; grep -c "exit_group(0)" attach.trace',
      ].join('\n'),
    );
    expect(res).toMatchObject({ code: 0, stdout: 'traced\n2\ngot go\n1\n' });
  });

  it('package management: dpkg builds, installs (maintainer scripts run) and removes a package; apt-get simulates', async () => {
    // The host image has no package database of its own (its /usr is the host's): the test starts an empty one.
    const res = await sh(
      [
        'set -e; cd /tmp; dpkg --version | head -1',
        'mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates /var/lib/dpkg/triggers && touch /var/lib/dpkg/status',
        'mkdir -p /etc/apt/apt.conf.d /etc/apt/preferences.d /var/lib/apt/lists/partial /var/cache/apt/archives/partial',
        'mkdir -p pkg/DEBIAN pkg/opt/cove-hello && echo hello > pkg/opt/cove-hello/greeting',
        'printf "Package: cove-hello\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: Cove <cove@example.com>\\nDescription: seccomp test\\n" > pkg/DEBIAN/control',
        'printf "#!/bin/sh\\necho configured > /tmp/postinst.out\\n" > pkg/DEBIAN/postinst && chmod 755 pkg/DEBIAN/postinst',
        'dpkg-deb --build --root-owner-group pkg cove-hello.deb >/dev/null',
        'dpkg -i cove-hello.deb >/dev/null',
        'cat /tmp/postinst.out /opt/cove-hello/greeting; dpkg-query -W cove-hello',
        'apt-get -s remove cove-hello | grep "^Remv"',
        'dpkg -r cove-hello >/dev/null 2>&1; test ! -e /opt/cove-hello/greeting && echo removed',
      ].join('\n'),
    );
    expect(res).toMatchObject({ code: 0 });
    expect(res.stdout).toMatch(/^Debian 'dpkg' package management program version /);
    expect(res.stdout).toContain('\nconfigured\nhello\ncove-hello\t1.0\nRemv cove-hello [1.0]\nremoved\n');
  });

  it('git, tar, gzip and curl work', async () => {
    const res = await sh(
      [
        'set -e; cd /tmp && mkdir repo && cd repo && git init -q && echo one > f && git add f',
        'git -c user.name=t -c user.email=t@example.com commit -qm one && git gc -q',
        'cd /tmp && tar czf repo.tgz repo && mkdir copy && tar xzf repo.tgz -C copy && git -C copy/repo log --format=%s',
        'curl -s file:///etc/hostname',
      ].join('\n'),
    );
    expect(res).toEqual({ code: 0, stdout: 'one\nworkspace\n', stderr: '' });
  });

  it('refuses the calls that reach past the workspace with EPERM; clone3 and calls newer than the list: ENOSYS, so libc falls back', async () => {
    // The probe's arguments make each call fail otherwise, without the filter, with another errno.
    const refused = [
      'kexec_load',
      'kexec_file_load',
      'init_module',
      'finit_module',
      'delete_module',
      'bpf',
      'perf_event_open',
      'keyctl',
      'add_key',
      'request_key',
      'unshare_user',
      'unshare_mount',
      'unshare_files',
      'setns',
      'clone_user',
      'clone_net',
      'mount',
      'umount2',
      'fsopen',
      'open_tree',
      'reboot',
      'swapon',
      'settimeofday',
      'clock_settime',
      'open_by_handle_at',
      'io_uring_setup',
      'userfaultfd',
      'sethostname',
      'personality_read_implies_exec',
      'socket_alg',
      'socket_vsock',
      'socket_alg_high',
    ];
    expect(await probeCalls([...refused, 'clone3', 'unknown_syscall'])).toEqual({
      ...Object.fromEntries(refused.map((name) => [name, 'EPERM'])),
      clone3: 'ENOSYS',
      // runc answers ENOSYS above the highest call the profile names, so a kernel's new call looks absent.
      unknown_syscall: 'ENOSYS',
    });
  });

  it('allows what stays inside: clone, ptrace of a sibling, the usual personalities and socket families', async () => {
    const allowed = [
      'clone',
      'ptrace_sibling',
      'personality_query',
      'personality_linux32',
      'personality_no_aslr',
      'socket_unix',
      'socket_inet',
      'socket_inet6',
      'socket_netlink',
      'socket_packet',
    ];
    expect(await probeCalls(allowed)).toEqual(Object.fromEntries(allowed.map((name) => [name, 'OK'])));
  });

  it('cannot trace a process outside: its PID namespace has no such process', async () => {
    // This test's own host process id names nothing inside the workspace.
    const missing = await sh(`test -e /proc/${process.pid} || echo absent`);
    expect(missing.stdout).toBe('absent\n');
    expect(await probeCalls([`ptrace_pid:${process.pid}`])).toEqual({ ptrace_pid: 'ESRCH' });
  });
});
