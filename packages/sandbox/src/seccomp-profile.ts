import os from 'node:os';

/**
 * The system calls a workspace may make, as an OCI `linux.seccomp` section: an allow-list, in the
 * spirit of Docker's default profile. What a normal distribution needs (processes, files, memory,
 * signals, time, IPC, sockets, debuggers) is allowed; everything else answers EPERM, so a kernel
 * interface added tomorrow stays closed until someone decides to open it. The list was written from
 * the kernel's syscall tables, checked group by group against what Docker allows a container
 * without CAP_SYS_ADMIN (which a workspace never has) and the capability set in oci-spec.ts.
 *
 * Refused, by leaving them out: mounts and the new mount API, namespaces (`unshare`, `setns`, `clone`
 * with a namespace flag), kernel modules, kexec, reboot, swap, setting the clock, keyrings, BPF, perf
 * events, io_uring, userfaultfd, file handles, quotas, process accounting, port I/O, the kernel log,
 * NUMA policies, `kcmp`/`pidfd_getfd`/`process_madvise` (CAP_SYS_PTRACE's), host and domain names
 * (runc sets them before the filter applies), LSM attributes and obsolete calls. Most of these need a
 * capability a workspace lacks anyway; the filter keeps them shut should a capability, a user
 * namespace or a kernel bug open them.
 *
 * The same profile serves workspaces with and without their own user namespace (it names no user or
 * group ids). Either way root inside keeps only the capability set of oci-spec.ts; what would hand it
 * every capability is a nested user namespace, and the filter closes every way to one: `unshare` and
 * `setns` are refused, `clone` is allowed only without namespace flags, `clone3` answers ENOSYS.
 */

const EPERM = 1;
const ENOSYS = 38;

interface SyscallArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_EQ' | 'SCMP_CMP_MASKED_EQ';
}

interface SyscallRule {
  names: string[];
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: SyscallArg[];
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: SyscallRule[];
}

// Names a kernel (or this runc's libseccomp) does not know are skipped by runc, so the lists name
// recent calls too; runc also answers ENOSYS for any call newer than the newest one listed, which
// makes libc fall back to an older call instead of failing on EPERM.

/** Processes and threads: creating, running, waiting for and signalling them; their limits and scheduling. */
const PROCESSES = [
  'execve',
  'execveat',
  'exit',
  'exit_group',
  'fork',
  'vfork',
  'wait4',
  'waitid',
  'waitpid',
  'kill',
  'tkill',
  'tgkill',
  'getpid',
  'getppid',
  'gettid',
  'getpgid',
  'getpgrp',
  'getsid',
  'setsid',
  'setpgid',
  'prctl',
  'getrlimit',
  'setrlimit',
  'ugetrlimit',
  'prlimit64',
  'getrusage',
  'times',
  'getpriority',
  'setpriority',
  'ioprio_get',
  'ioprio_set',
  'sched_getaffinity',
  'sched_setaffinity',
  'sched_getattr',
  'sched_setattr',
  'sched_getparam',
  'sched_setparam',
  'sched_getscheduler',
  'sched_setscheduler',
  'sched_get_priority_max',
  'sched_get_priority_min',
  'sched_rr_get_interval',
  'sched_rr_get_interval_time64',
  'sched_yield',
  'set_tid_address',
  'set_robust_list',
  'get_robust_list',
  'rseq',
  'restart_syscall',
  'pidfd_open',
  'pidfd_send_signal',
  'process_mrelease',
  'membarrier',
  'getcpu',
  'uname',
  'getrandom',
  'sysinfo',
  'umask',
  'chroot', // the capability set grants CAP_SYS_CHROOT (build tools and package scripts chroot)
];

/** Credentials: reading them, and dropping or switching them as CAP_SETUID/CAP_SETGID allow (su, sshd, apt's _apt user). */
const CREDENTIALS = [
  'getuid',
  'getuid32',
  'geteuid',
  'geteuid32',
  'getgid',
  'getgid32',
  'getegid',
  'getegid32',
  'getresuid',
  'getresuid32',
  'getresgid',
  'getresgid32',
  'getgroups',
  'getgroups32',
  'setuid',
  'setuid32',
  'setgid',
  'setgid32',
  'setreuid',
  'setreuid32',
  'setregid',
  'setregid32',
  'setresuid',
  'setresuid32',
  'setresgid',
  'setresgid32',
  'setfsuid',
  'setfsuid32',
  'setfsgid',
  'setfsgid32',
  'setgroups',
  'setgroups32',
  'capget',
  'capset',
];

/** Signals, timers that deliver them, and waiting for them. */
const SIGNALS = [
  'rt_sigaction',
  'rt_sigpending',
  'rt_sigprocmask',
  'rt_sigqueueinfo',
  'rt_sigreturn',
  'rt_sigsuspend',
  'rt_sigtimedwait',
  'rt_sigtimedwait_time64',
  'rt_tgsigqueueinfo',
  'sigaltstack',
  'sigprocmask',
  'sigreturn',
  'signalfd',
  'signalfd4',
  'pause',
  'alarm',
  'getitimer',
  'setitimer',
];

/** Memory: mappings, protection keys, locking (bounded by RLIMIT_MEMLOCK and the cgroup), anonymous files. */
const MEMORY = [
  'brk',
  'mmap',
  'mmap2',
  'munmap',
  'mremap',
  'mprotect',
  'madvise',
  'mincore',
  'msync',
  'mlock',
  'mlock2',
  'mlockall',
  'munlock',
  'munlockall',
  'remap_file_pages',
  'memfd_create',
  'memfd_secret',
  'pkey_alloc',
  'pkey_free',
  'pkey_mprotect',
  'mseal',
  'map_shadow_stack',
];

/** Files and directories: the workspace's own tree (what a process may touch there is the kernel's permission check). */
const FILES = [
  'open',
  'openat',
  'openat2',
  'creat',
  'close',
  'close_range',
  'read',
  'readv',
  'pread64',
  'preadv',
  'preadv2',
  'write',
  'writev',
  'pwrite64',
  'pwritev',
  'pwritev2',
  'lseek',
  '_llseek',
  'dup',
  'dup2',
  'dup3',
  'fcntl',
  'fcntl64',
  'ioctl',
  'flock',
  'fsync',
  'fdatasync',
  'sync',
  'syncfs',
  'sync_file_range',
  'fadvise64',
  'fadvise64_64',
  'readahead',
  'fallocate',
  'truncate',
  'truncate64',
  'ftruncate',
  'ftruncate64',
  'stat',
  'stat64',
  'lstat',
  'lstat64',
  'fstat',
  'fstat64',
  'fstatat64',
  'newfstatat',
  'statx',
  'statfs',
  'statfs64',
  'fstatfs',
  'fstatfs64',
  'access',
  'faccessat',
  'faccessat2',
  'getcwd',
  'chdir',
  'fchdir',
  'getdents',
  'getdents64',
  'mkdir',
  'mkdirat',
  'rmdir',
  'mknod', // CAP_MKNOD is granted; the device cgroup refuses every device node anyway
  'mknodat',
  'link',
  'linkat',
  'symlink',
  'symlinkat',
  'unlink',
  'unlinkat',
  'rename',
  'renameat',
  'renameat2',
  'readlink',
  'readlinkat',
  'chmod',
  'fchmod',
  'fchmodat',
  'fchmodat2',
  'chown',
  'chown32',
  'fchown',
  'fchown32',
  'fchownat',
  'lchown',
  'lchown32',
  'utime',
  'utimes',
  'utimensat',
  'utimensat_time64',
  'futimesat',
  'copy_file_range',
  'sendfile',
  'sendfile64',
  'splice',
  'tee',
  'vmsplice',
  'cachestat',
  'getxattr',
  'lgetxattr',
  'fgetxattr',
  'getxattrat',
  'setxattr',
  'lsetxattr',
  'fsetxattr',
  'setxattrat',
  'listxattr',
  'llistxattr',
  'flistxattr',
  'listxattrat',
  'removexattr',
  'lremovexattr',
  'fremovexattr',
  'removexattrat',
  // Filesystem events: inotify for file watchers (the agent's too); fanotify marks are harmless without
  // fanotify_init, which needs CAP_SYS_ADMIN and is refused.
  'inotify_init',
  'inotify_init1',
  'inotify_add_watch',
  'inotify_rm_watch',
  'fanotify_mark',
  // Mount information is readable (findmnt, df); changing mounts is not.
  'listmount',
  'statmount',
];

/** Waiting on many descriptors, and the POSIX (not io_uring) asynchronous I/O. */
const EVENTS = [
  'poll',
  'ppoll',
  'ppoll_time64',
  'select',
  '_newselect',
  'pselect6',
  'pselect6_time64',
  'epoll_create',
  'epoll_create1',
  'epoll_ctl',
  'epoll_ctl_old',
  'epoll_wait',
  'epoll_wait_old',
  'epoll_pwait',
  'epoll_pwait2',
  'eventfd',
  'eventfd2',
  'pipe',
  'pipe2',
  'io_setup',
  'io_destroy',
  'io_submit',
  'io_cancel',
  'io_getevents',
  'io_pgetevents',
  'io_pgetevents_time64',
];

/** Clocks and timers. Reading only: setting the clock is refused (below), and adjtimex changes need CAP_SYS_TIME. */
const TIME = [
  'time',
  'gettimeofday',
  'clock_gettime',
  'clock_gettime64',
  'clock_getres',
  'clock_getres_time64',
  'clock_nanosleep',
  'clock_nanosleep_time64',
  'nanosleep',
  'adjtimex', // glibc's ntp_gettime and chronyc read the clock's state with it
  'clock_adjtime',
  'clock_adjtime64',
  'timer_create',
  'timer_delete',
  'timer_getoverrun',
  'timer_gettime',
  'timer_gettime64',
  'timer_settime',
  'timer_settime64',
  'timerfd_create',
  'timerfd_gettime',
  'timerfd_gettime64',
  'timerfd_settime',
  'timerfd_settime64',
];

/** Inter-process communication inside the workspace: futexes, System V and POSIX IPC (its own IPC namespace). */
const IPC = [
  'futex',
  'futex_time64',
  'futex_waitv',
  'futex_wait',
  'futex_wake',
  'futex_requeue',
  'ipc', // x86's System V multiplexer
  'msgget',
  'msgsnd',
  'msgrcv',
  'msgctl',
  'semget',
  'semop',
  'semtimedop',
  'semtimedop_time64',
  'semctl',
  'shmget',
  'shmat',
  'shmdt',
  'shmctl',
  'mq_open',
  'mq_unlink',
  'mq_timedsend',
  'mq_timedsend_time64',
  'mq_timedreceive',
  'mq_timedreceive_time64',
  'mq_notify',
  'mq_getsetattr',
];

/**
 * Sockets, once made (`socket` itself is checked by family, below). `socketcall` is 32-bit x86's
 * multiplexer: its arguments are in memory, out of the filter's sight, so a 32-bit program is not held
 * to the family list (as under Docker).
 */
const SOCKETS = [
  'socketpair',
  'bind',
  'listen',
  'accept',
  'accept4',
  'connect',
  'getsockname',
  'getpeername',
  'getsockopt',
  'setsockopt',
  'shutdown',
  'send',
  'sendto',
  'sendmsg',
  'sendmmsg',
  'recv',
  'recvfrom',
  'recvmsg',
  'recvmmsg',
  'recvmmsg_time64',
  'socketcall',
];

/** Restricting oneself further: sandboxes inside the workspace (Chromium, systemd units, strace --seccomp-bpf). */
const SELF_RESTRICTION = ['seccomp', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self'];

/**
 * Debuggers and tracers (gdb, strace) on the workspace's own processes: its PID namespace hides every
 * other process, and the kernel's ptrace access checks apply. Before Linux 4.8 a tracer could rewrite a
 * system call after the filter had checked it, so older kernels do not get them.
 */
const TRACING = ['ptrace', 'process_vm_readv', 'process_vm_writev'];

/** Calls only some architectures have; runc resolves names per architecture, so each gets its own. */
function archSyscalls(arch: string): string[] {
  if (arch === 'arm64') return ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'];
  // x86: thread-local storage (arch_prctl), the LDT that 32-bit programs and Wine use, and the return
  // trampoline of uprobes a host-side tracer may have set on a workspace's binary.
  return ['arch_prctl', 'modify_ldt', 'get_thread_area', 'set_thread_area', 'uretprobe'];
}

/** The architectures the filter covers: the machine's own and the 32-bit ones it can run (anything else is refused). */
function architectures(arch: string): string[] {
  if (arch === 'arm64') return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
  return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
}

// clone(2)'s namespace flags: CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
// CLONE_NEWPID, CLONE_NEWNET. (CLONE_NEWTIME exists only for unshare and clone3, both refused.)
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

/**
 * Socket families a workspace may open: local, IPv4, IPv6, netlink (ip, getifaddrs) and packet
 * sockets (CAP_NET_RAW is granted: ping, tcpdump, DHCP clients). Docker allows every family but AF_ALG
 * and AF_VSOCK, with greater-than and less-than comparisons; those compare all 64 bits of the register
 * while the kernel reads the family as a 32-bit int, so a family with high bits set passes a
 * "greater than AF_VSOCK" rule and still opens AF_ALG. Only equality on the low 32 bits holds, which
 * makes an allow-list of families: the rarely used ones (AF_ALG's kernel crypto, AF_VSOCK to the
 * hypervisor, AF_RDS, AF_TIPC, AF_CAN and the like, each loading kernel code on demand) are refused.
 */
const SOCKET_FAMILIES = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10, AF_NETLINK: 16, AF_PACKET: 17 };

/**
 * personality(2) values a workspace may set: Linux, 32-bit Linux (`linux32`), UNAME26, and
 * 0xffffffff which only reads the current one (Docker's list), plus ADDR_NO_RANDOMIZE alone and with
 * 32-bit Linux, which gdb and `setarch -R` use to debug without address randomisation: it weakens only
 * the process itself, and executing a set-user-ID program clears it. The rest (READ_IMPLIES_EXEC, the
 * other ABIs' emulations) stays refused.
 */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0x40000, 0x40008, 0xffffffff];

const LOW_32_BITS = 0xffffffff;

/** Whether the running kernel is at least `major.minor`. */
function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const [maj = 0, min = 0] = release.split(/[.-]/, 2).map((n) => Number.parseInt(n, 10));
  return maj > major || (maj === major && min >= minor);
}

/** The `linux.seccomp` section of a workspace's config.json. */
export function seccompProfile(arch: string = process.arch, kernelRelease: string = os.release()): SeccompProfile {
  const allowed = [
    ...PROCESSES,
    ...CREDENTIALS,
    ...SIGNALS,
    ...MEMORY,
    ...FILES,
    ...EVENTS,
    ...TIME,
    ...IPC,
    ...SOCKETS,
    ...SELF_RESTRICTION,
    ...(kernelAtLeast(kernelRelease, 4, 8) ? TRACING : []),
    ...archSyscalls(arch),
  ];
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: architectures(arch),
    syscalls: [
      { names: allowed, action: 'SCMP_ACT_ALLOW' },
      // One rule per family or value: rules on the same call are alternatives (any match allows).
      ...Object.values(SOCKET_FAMILIES).map(
        (family): SyscallRule => ({
          names: ['socket'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: LOW_32_BITS, valueTwo: family, op: 'SCMP_CMP_MASKED_EQ' }],
        }),
      ),
      ...PERSONALITIES.map(
        (persona): SyscallRule => ({
          names: ['personality'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: persona, op: 'SCMP_CMP_EQ' }],
        }),
      ),
      // clone(2) makes processes and threads, but no namespace: a new user namespace is where most
      // container escapes start, and the others would let root inside remount or re-network itself.
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      },
      // clone3 passes its flags in memory, out of the filter's sight: "not implemented" makes libc fall back to clone.
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ],
  };
}
