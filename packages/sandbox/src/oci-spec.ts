import { seccompProfile } from './seccomp-profile.js';

/** The pieces of a workspace's OCI runtime configuration (config.json). */
export interface BundleSpec {
  id: string;
  rootfs: string;
  hostname: string;
  args: string[];
  env: string[];
  cwd: string;
  netnsPath: string;
  /** The slot's pinned user namespace and its mapping (0 → base, size ids, for uids and gids alike). */
  userns: { path: string; base: number; size: number };
  cgroupsPath: string;
  cpus: number;
  memoryMb: number;
  pidsLimit: number;
  /** Read-only bind mounts (the agent, the token directory, the image's host binds); nosuid unless `setuid`. */
  binds: Array<{ source: string; destination: string; readonly: boolean; setuid?: boolean }>;
}

// Docker's default capability set: enough to be root inside, not enough to manage the host.
const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/**
 * Builds config.json: own mount, PID, UTS, IPC and cgroup namespaces, the
 * network namespace created beforehand (so that its address and firewall
 * rules exist before anything runs), and the limits as `linux.resources`
 * (runc writes them to cgroup v1 or v2, whichever the host has).
 *
 * The user namespace is the slot's, made and pinned beforehand too (it owns the network namespace, see
 * netns.ts), and joined by path: root inside is `userns.base` on the host. runc still needs the mapping to
 * know the host ids of root inside (it writes no map for a namespace it joins). The capabilities are
 * within that namespace: over its own namespaces and files of its range, nothing of the host's.
 */
export function ociConfig(spec: BundleSpec): object {
  const memory = spec.memoryMb * 1024 * 1024;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd,
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES },
      noNewPrivileges: false,
      oomScoreAdj: 500,
    },
    root: { path: spec.rootfs, readonly: false },
    hostname: spec.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=65536k'] },
      ...spec.binds.map((b) => ({
        destination: b.destination,
        type: 'bind',
        source: b.source,
        options: ['rbind', ...(b.setuid ? [] : ['nosuid']), 'nodev', b.readonly ? 'ro' : 'rw'],
      })),
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'cgroup' },
        { type: 'network', path: spec.netnsPath },
        { type: 'user', path: spec.userns.path },
      ],
      uidMappings: [{ containerID: 0, hostID: spec.userns.base, size: spec.userns.size }],
      gidMappings: [{ containerID: 0, hostID: spec.userns.base, size: spec.userns.size }],
      cgroupsPath: spec.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        // No swap: memory + swap equals memory, so exceeding it invokes the OOM killer inside the cgroup.
        memory: { limit: memory, swap: memory },
        cpu: { shares: Math.max(2, Math.round(spec.cpus * 1024)), quota: Math.round(spec.cpus * 100_000), period: 100_000 },
        pids: { limit: spec.pidsLimit },
      },
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      seccomp: seccompProfile(),
    },
  };
}
