// The OCI runtimes the sandbox driver knows, what each needs from the host and what each supports of what the
// driver asks of it, and the check `cove up --runtime X` runs before anything starts. The driver talks to every
// runtime through runc's command line (runc.ts); only runc 1.1.5 has run Cove's tests. The rest is read from the
// runtimes' own sources and documentation (see docs/decisions.md, *Runtimes*), so each claim below says why.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { cgroupMode } from './cgroups.js';

export type KnownRuntime = 'runc' | 'crun' | 'runsc' | 'kata-runtime';

/** What one runtime supports of what the driver does, and where it comes from. */
export interface RuntimeProfile {
  name: KnownRuntime;
  /** Where to get it: a Debian package, or the upstream instructions when Debian has none. */
  install: string;
  /** `create/start/kill/delete/state/list` on runc's command line: without them the driver cannot drive it at all. */
  ociCli: boolean;
  /** `update --resources -` changes a running container's limits (warm-pool adoption sets them so). */
  liveUpdate: boolean;
  /** `pause`/`resume` freeze the container so that the host's cgroup freezer shows it frozen (the pause test reads it). */
  cgroupFreezer: boolean;
  /** `state`'s pid is the container's first process (tini) on the host: the driver signals it directly (token SIGHUP). */
  hostInitPid: boolean;
  /** The spec's `linux.seccomp` filter is applied as given (runsc ignores it unless `--oci-seccomp`). */
  ociSeccomp: boolean;
  /** Runs on a cgroup v1 host, including the hybrid layout with controllers in the v2 `unified` hierarchy. */
  hybridCgroups: boolean;
  /** The features of Cove that are lesser or absent under it, for the documentation and the log. */
  degraded: string[];
}

/** The runtimes the driver knows by name. A runtime not listed is accepted when its --help shows runc's commands. */
export const RUNTIMES: Record<KnownRuntime, RuntimeProfile> = {
  // Tested: Debian 12's runc 1.1.5 on a cgroup v1 (hybrid) host.
  runc: {
    name: 'runc',
    install: 'Debian package runc',
    ociCli: true,
    liveUpdate: true,
    cgroupFreezer: true,
    hostInitPid: true,
    ociSeccomp: true,
    hybridCgroups: true,
    degraded: [],
  },
  // crun has runc's command line and semantics, but refuses a hybrid host whose `unified` hierarchy has controllers
  // (libcrun: "cgroups in hybrid mode not supported, drop all controllers from cgroupv2").
  crun: {
    name: 'crun',
    install: 'Debian package crun',
    ociCli: true,
    liveUpdate: true,
    cgroupFreezer: true,
    hostInitPid: true,
    ociSeccomp: true,
    hybridCgroups: false,
    degraded: [],
  },
  // gVisor: the workspace runs on the Sentry, a user-space kernel, inside one sandbox process per container.
  runsc: {
    name: 'runsc',
    install: "gVisor's apt repository (https://gvisor.dev/docs/user_guide/install/, package runsc); Debian has none",
    ociCli: true,
    // `runsc update` exists (2022+) and takes `--resources -`; it has no `-r` short flag.
    liveUpdate: true,
    // `runsc pause` stops the Sentry's tasks; the host's freezer cgroup is not what holds them.
    cgroupFreezer: false,
    // `state` reports the sandbox process's pid (the Sentry), not tini's: a SIGHUP must go through `runsc kill`.
    hostInitPid: false,
    ociSeccomp: false,
    hybridCgroups: true,
    degraded: [
      "the token's SIGHUP goes through `runsc kill` (state's pid is the Sentry's)",
      "the seccomp allow-list applies only with runsc's --oci-seccomp (the Sentry filters the host's syscalls itself)",
      'pause stops the Sentry, not the cgroup freezer',
      "the user-namespace mapping does not carry over (root inside is the Sentry's; runsc's uidMappings unverified)",
      "the workspace's network stack is gVisor's netstack, copied from the netns's veth at create",
    ],
  },
  // Kata Containers: a VM per container. Since Kata 2.0 `kata-runtime` is only a helper (check, env, exec, metrics…);
  // containers run through containerd's shim v2 (containerd-shim-kata-v2), which has no runc-like command line.
  'kata-runtime': {
    name: 'kata-runtime',
    install: 'the Kata Containers release (https://github.com/kata-containers/kata-containers/releases, kata-static); Debian has none',
    ociCli: false,
    liveUpdate: false,
    cgroupFreezer: false,
    hostInitPid: false,
    ociSeccomp: true,
    hybridCgroups: true,
    degraded: [
      'no runc-like command line since Kata 2.0 (containerd-shim-kata-v2 only): the driver cannot drive it',
      'processes live in the guest: no host pid to signal, and the host cgroup holds the VMM, not the workload',
      'bind mounts reach the guest through virtio-fs (Cloud Hypervisor, QEMU); Firecracker copies files instead',
      'the netns joined by path works: Kata links the veth to the VM with a TC filter, so the firewall still sees it',
    ],
  },
};

/** The runtime setting: a binary (name on PATH or path) and, after white space, global flags (`runsc --platform=kvm`). */
export interface RuntimeCommand {
  binary: string;
  args: string[];
}

/** Splits the runtime setting. A path to an existing file is taken whole, so a path with spaces stays one. */
export function parseRuntime(setting: string): RuntimeCommand {
  const trimmed = setting.trim();
  if (trimmed.includes('/') && existsSync(trimmed)) return { binary: trimmed, args: [] };
  const [binary = '', ...args] = trimmed.split(/\s+/);
  return { binary, args };
}

const SEARCH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Where `binary` is: itself when it has a slash, else the first match on PATH or the sbin directories. */
export function locateBinary(binary: string): string | undefined {
  if (binary.includes('/')) return existsSync(binary) ? path.resolve(binary) : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...SEARCH_DIRS];
  return dirs.map((dir) => path.join(dir, binary)).find((file) => existsSync(file));
}

function executable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface RuntimeCheck {
  ok: boolean;
  /** Why the runtime cannot be used (empty when it can), each a clause naming what is missing. */
  reasons: string[];
  /** The runtime, when recognised (by name, or by its `--version`). */
  profile?: RuntimeProfile;
  /** The resolved binary. */
  file?: string;
}

/** Only what `cove up` needs to decide before starting anything: no container is created, nothing is written. */
export function checkRuntime(setting: string): RuntimeCheck {
  const { binary, args } = parseRuntime(setting);
  if (!binary) return { ok: false, reasons: ['no OCI runtime named'] };
  const byName = RUNTIMES[path.basename(binary) as KnownRuntime] as RuntimeProfile | undefined;
  const file = locateBinary(binary);
  if (!file) {
    const where = binary.includes('/') ? `${binary} does not exist` : `${binary} not found on PATH`;
    return { ok: false, reasons: [`${where}${byName ? ` (install: ${byName.install})` : ''}`] };
  }
  if (!executable(file)) return { ok: false, reasons: [`${file} is not an executable file`], file };
  const profile = byName ?? identify(file);
  const reasons: string[] = [];
  if (profile?.name === 'crun') reasons.push(...crunCgroups());
  if (profile?.name === 'runsc') reasons.push(...runscPlatform(args));
  if (profile?.name === 'kata-runtime') reasons.push(...kataHost());
  // Known runtimes are checked by what they are; anything else (and kata-runtime, whose commands changed with 2.0)
  // must show runc's commands in its help, or the driver would fail at the first create.
  if (!profile?.ociCli) {
    const missing = missingCommands(file);
    if (missing.length > 0) {
      const kata = profile?.name === 'kata-runtime' ? ' (Kata 2.0 and later run only as containerd-shim-kata-v2)' : '';
      reasons.push(`${file} lacks runc's commands ${missing.join(', ')}${kata}`);
    }
  }
  return { ok: reasons.length === 0, reasons, ...(profile ? { profile } : {}), file };
}

/** The runtime a binary with another name is, from its `--version` (a wrapper script `runsc-kvm` is runsc). */
function identify(file: string): RuntimeProfile | undefined {
  const first = run(file, ['--version']).split('\n')[0] ?? '';
  const name = /^(runc|crun|runsc|kata-runtime)\b/.exec(first.trim())?.[1] as KnownRuntime | undefined;
  return name ? RUNTIMES[name] : undefined;
}

const OCI_COMMANDS = ['create', 'start', 'kill', 'delete', 'state', 'list'];

/** runc's commands the binary's help does not list (urfave/cli and Go's subcommands both list them one per line). */
function missingCommands(file: string): string[] {
  const help = run(file, ['--help']);
  return OCI_COMMANDS.filter((cmd) => !new RegExp(`^\\s+${cmd}\\b`, 'm').test(help));
}

/** stdout and stderr of a short probe (help and version only), bounded so that a stray binary cannot hang startup. */
function run(file: string, args: string[]): string {
  const res = spawnSync(file, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  return `${res.stdout ?? ''}${res.stderr ?? ''}`;
}

/** crun refuses a hybrid layout whose v2 hierarchy has controllers (libcrun's cgroup_enter); pure v1 and v2 are fine. */
function crunCgroups(root = '/sys/fs/cgroup'): string[] {
  if (cgroupMode(root) === 'v2') return [];
  let controllers = '';
  try {
    controllers = readFileSync(path.join(root, 'unified', 'cgroup.controllers'), 'utf8').trim();
  } catch {
    return []; // no unified hierarchy: a pure v1 host, which crun supports
  }
  if (!controllers) return [];
  return [
    `crun refuses this host's hybrid cgroup layout (controllers in ${root}/unified: ${controllers.split(/\s+/).join(' ')}; ` +
      "crun: 'cgroups in hybrid mode not supported'): use runc, or boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2)",
  ];
}

/** The platform runsc will use (its `--platform` flag; systrap, its default since 2023, otherwise) and what it needs. */
function runscPlatform(args: string[]): string[] {
  const platform = runscFlag(args, 'platform') ?? 'systrap';
  if (platform === 'kvm') {
    if (!existsSync('/dev/kvm'))
      return [
        'runsc --platform=kvm needs /dev/kvm, which this host lacks (KVM off, or a VM without nested virtualization): use --platform=systrap',
      ];
    try {
      accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch {
      return ['runsc --platform=kvm cannot open /dev/kvm read-write'];
    }
    return [];
  }
  if (platform === 'systrap') {
    // systrap traps the workload's syscalls with seccomp's SECCOMP_RET_TRAP.
    const actions = readText('/proc/sys/kernel/seccomp/actions_avail');
    if (actions !== undefined && !/\btrap\b/.test(actions))
      return ["runsc --platform=systrap needs seccomp's trap action, which this kernel lacks"];
    return [];
  }
  if (platform === 'ptrace') {
    if (readText('/proc/sys/kernel/yama/ptrace_scope')?.trim() === '3')
      return ['runsc --platform=ptrace needs ptrace, which kernel.yama.ptrace_scope=3 forbids'];
    return [];
  }
  return [`runsc --platform=${platform} is not one Cove knows (kvm, systrap, ptrace)`];
}

function runscFlag(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const m = new RegExp(`^--?${name}(?:=(.*))?$`).exec(args[i] ?? '');
    if (m) return m[1] ?? args[i + 1];
  }
  return undefined;
}

/** Kata runs a VM per container: the hypervisor (QEMU, Cloud Hypervisor or Firecracker) needs KVM. */
function kataHost(): string[] {
  if (!existsSync('/dev/kvm')) return ['kata-runtime needs /dev/kvm (KVM), which this host lacks (a VM needs nested virtualization)'];
  return [];
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
