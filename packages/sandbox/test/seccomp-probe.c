/*
 * Makes each system call named on the command line in a child process of its own (so a call that
 * succeeds changes nothing for the next) and prints "name=OK" or "name=<errno name>".
 * seccomp.test.ts compiles it inside a workspace and runs it there.
 *
 * Where the kernel would refuse a call for lack of a capability anyway, the arguments are chosen so
 * that, without the seccomp filter, it fails on them first with another errno (EFAULT, EINVAL, EBADF):
 * only the filter answers EPERM. Every argument is harmless should the call get through.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BAD_POINTER ((void *)8)

static long target_pid; /* for ptrace_pid */

static long clone_with(unsigned long flags) {
  long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}

static long ptrace_sibling(void) {
  pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  if (child < 0) return -1;
  long r = ptrace(PTRACE_ATTACH, child, 0, 0);
  int saved = errno;
  if (r == 0) {
    waitpid(child, NULL, 0);
    r = ptrace(PTRACE_DETACH, child, 0, 0);
    saved = errno;
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  errno = saved;
  return r;
}

static long call(const char *name) {
  if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0xffffff, NULL, 0x12340000); /* too many segments, wrong arch */
#ifdef SYS_kexec_file_load
  if (!strcmp(name, "kexec_file_load")) return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0xffffffffUL);
#endif
  if (!strcmp(name, "init_module")) return syscall(SYS_init_module, NULL, 0, "");
  if (!strcmp(name, "finit_module")) return syscall(SYS_finit_module, -1, "", 0);
  if (!strcmp(name, "delete_module")) return syscall(SYS_delete_module, "cove_no_such_module", O_NONBLOCK);
  if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 0x7fff, NULL, 0); /* no such command */
  if (!strcmp(name, "perf_event_open")) return syscall(SYS_perf_event_open, BAD_POINTER, 0, -1, -1, 0);
  if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -2 /* process keyring */, 1);
  if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "user", "cove-probe", "x", 1, -2);
  if (!strcmp(name, "request_key")) return syscall(SYS_request_key, "user", "cove-no-such-key", NULL, 0);
  if (!strcmp(name, "unshare_user")) return unshare(CLONE_NEWUSER);
  if (!strcmp(name, "unshare_mount")) return unshare(CLONE_NEWNS);
  if (!strcmp(name, "unshare_files")) return unshare(CLONE_FILES);
  if (!strcmp(name, "setns")) return syscall(SYS_setns, -1, 0);
  if (!strcmp(name, "clone")) return clone_with(0);
  if (!strcmp(name, "clone_user")) return clone_with(CLONE_NEWUSER);
  if (!strcmp(name, "clone_net")) return clone_with(CLONE_NEWNET);
  if (!strcmp(name, "clone3")) {
    uint64_t args[11] = {0};
    args[4] = SIGCHLD; /* exit_signal */
    long pid = syscall(SYS_clone3, args, sizeof args);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid;
  }
  if (!strcmp(name, "mount")) return syscall(SYS_mount, "none", "/tmp", BAD_POINTER, 0, NULL);
  if (!strcmp(name, "umount2")) return syscall(SYS_umount2, "/tmp", 0x40000000); /* unknown flag */
  if (!strcmp(name, "fsopen")) return syscall(SYS_fsopen, BAD_POINTER, 0);
  if (!strcmp(name, "open_tree")) return syscall(SYS_open_tree, -1, "", 0xffffffffU);
  if (!strcmp(name, "reboot")) return syscall(SYS_reboot, 0, 0, 0, NULL); /* no magic numbers */
  if (!strcmp(name, "swapon")) return syscall(SYS_swapon, "/cove-no-such-file", 0xffffffff); /* unknown flags */
  if (!strcmp(name, "settimeofday")) return syscall(SYS_settimeofday, BAD_POINTER, NULL);
  if (!strcmp(name, "clock_settime")) return syscall(SYS_clock_settime, CLOCK_REALTIME, BAD_POINTER);
  if (!strcmp(name, "open_by_handle_at")) return syscall(SYS_open_by_handle_at, -1, BAD_POINTER, O_RDONLY);
  if (!strcmp(name, "io_uring_setup")) return syscall(SYS_io_uring_setup, 1, BAD_POINTER);
  if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, 0xffffffff); /* unknown flags */
  if (!strcmp(name, "sethostname")) return syscall(SYS_sethostname, BAD_POINTER, 1);
  if (!strcmp(name, "ptrace_sibling")) return ptrace_sibling();
  if (!strcmp(name, "ptrace_pid")) return ptrace(PTRACE_ATTACH, (pid_t)target_pid, 0, 0);
  if (!strcmp(name, "personality_query")) return personality(0xffffffff);
  if (!strcmp(name, "personality_linux32")) return personality(PER_LINUX32);
  if (!strcmp(name, "personality_no_aslr")) return personality(ADDR_NO_RANDOMIZE);
  if (!strcmp(name, "personality_read_implies_exec")) return personality(READ_IMPLIES_EXEC);
  if (!strcmp(name, "socket_unix")) return socket(AF_UNIX, SOCK_STREAM, 0);
  if (!strcmp(name, "socket_inet")) return socket(AF_INET, SOCK_STREAM, 0);
  if (!strcmp(name, "socket_inet6")) return socket(AF_INET6, SOCK_DGRAM, 0);
  if (!strcmp(name, "socket_netlink")) return socket(AF_NETLINK, SOCK_RAW, 0);
  if (!strcmp(name, "socket_packet")) return socket(AF_PACKET, SOCK_DGRAM, 0);
  if (!strcmp(name, "socket_alg")) return socket(AF_ALG, SOCK_SEQPACKET, 0);
  if (!strcmp(name, "socket_vsock")) return socket(AF_VSOCK, SOCK_STREAM, 0);
#if __SIZEOF_LONG__ == 8
  /* AF_ALG with bits above the 32 the kernel reads: what a "family > AF_VSOCK" rule would let through. */
  if (!strcmp(name, "socket_alg_high")) return syscall(SYS_socket, (1UL << 32) | AF_ALG, SOCK_SEQPACKET, 0);
#endif
  if (!strcmp(name, "unknown_syscall")) return syscall(1000); /* past every architecture's table */
  errno = ENOENT;
  fprintf(stderr, "unknown probe %s\n", name);
  exit(2);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s", argv[i]);
    /* ptrace_pid:<pid> attaches to that pid. */
    char *colon = strchr(name, ':');
    if (colon) {
      *colon = '\0';
      target_pid = strtol(colon + 1, NULL, 10);
    }
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      errno = 0;
      long r = call(name);
      int err = r == -1 ? errno : 0;
      if (write(fds[1], &err, sizeof err) != sizeof err) _exit(1);
      _exit(0);
    }
    close(fds[1]);
    int err = -1;
    ssize_t n = read(fds[0], &err, sizeof err);
    close(fds[0]);
    waitpid(child, NULL, 0);
    if (n != sizeof err) printf("%s=NO-ANSWER\n", argv[i]);
    else if (err == 0) printf("%s=OK\n", name);
    else printf("%s=%s\n", name, strerrorname_np(err));
  }
  return 0;
}
