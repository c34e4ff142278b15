/**
 * exec-as: becomes a workspace user, then executes a program.
 *
 *   exec-as [--uid N] [--gid N] [--groups G1,G2,...] [--close-fds] [--tty] -- PATH ARGV0 [ARG...]
 *
 * Why: the agent runs as root and starts commands and terminals as the image's user (or the one a
 * request names). posix_spawn cannot change credentials and node-pty's switch keeps root's
 * supplementary groups and leaves the terminal owned by root, so processes that switch start through
 * this: supplementary groups (setgroups), then the group, then the user, as a container engine does.
 *
 * --close-fds  closes every descriptor above stdio (node-pty leaves other terminals' masters open
 *              in the child without FD_CLOEXEC; bash used to do this, and images may have no bash).
 * --tty        gives the terminal on stdin to the new user (mode 0620), as login(1) does, so that
 *              programs that reopen their tty (ssh, sudo, tty) can.
 *
 * PATH is taken as given (the agent resolves it with the command's own PATH); ARGV0 is what the
 * program sees as its name. Built statically when the toolchain allows, so it runs in any image.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_GROUPS 65536

static int fail(const char *what, const char *arg) {
  fprintf(stderr, "exec-as: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
  return 126;
}

static int parse_id(const char *s, unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v > 4294967294UL) return -1;
  *out = v;
  return 0;
}

static void close_above_stdio(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  /* Kernels before 5.9: every descriptor /proc lists, the directory's own last. */
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    for (int fd = 3; fd < 65536; fd++) close(fd);
    return;
  }
  int own = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (fd > 2 && fd != own) close(fd);
  }
  closedir(d);
}

int main(int argc, char **argv) {
  unsigned long uid = 0, gid = 0;
  int has_uid = 0, has_gid = 0, has_groups = 0, close_fds = 0, tty = 0;
  static gid_t groups[MAX_GROUPS];
  size_t ngroups = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) { i++; break; }
    if (strcmp(a, "--close-fds") == 0) close_fds = 1;
    else if (strcmp(a, "--tty") == 0) tty = 1;
    else if (strcmp(a, "--uid") == 0 && i + 1 < argc) {
      if (parse_id(argv[++i], &uid) < 0) { fprintf(stderr, "exec-as: bad uid '%s'\n", argv[i]); return 125; }
      has_uid = 1;
    } else if (strcmp(a, "--gid") == 0 && i + 1 < argc) {
      if (parse_id(argv[++i], &gid) < 0) { fprintf(stderr, "exec-as: bad gid '%s'\n", argv[i]); return 125; }
      has_gid = 1;
    } else if (strcmp(a, "--groups") == 0 && i + 1 < argc) {
      has_groups = 1;
      char *list = argv[++i];
      for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        unsigned long g;
        if (parse_id(tok, &g) < 0 || ngroups >= MAX_GROUPS) { fprintf(stderr, "exec-as: bad group '%s'\n", tok); return 125; }
        groups[ngroups++] = (gid_t)g;
      }
    } else {
      fprintf(stderr, "exec-as: unknown option '%s'\n", a);
      return 125;
    }
  }
  if (argc - i < 2) {
    fprintf(stderr, "usage: exec-as [--uid N] [--gid N] [--groups G,...] [--close-fds] [--tty] -- PATH ARGV0 [ARG...]\n");
    return 125;
  }
  const char *path = argv[i];
  char **child_argv = &argv[i + 1];

  if (close_fds) close_above_stdio();
  if (tty && has_uid && isatty(0)) {
    /* Best effort: a terminal that cannot change hands still works through the open descriptors. */
    if (fchown(0, (uid_t)uid, (gid_t)-1) == 0) fchmod(0, 0620);
  }
  /* Groups first, then the group, then the user: each step needs the privilege the next one drops. */
  if (has_groups || has_gid || has_uid) {
    gid_t primary = (gid_t)gid;
    if (setgroups(has_groups ? ngroups : 1, has_groups ? groups : &primary) < 0) return fail("setgroups", NULL);
  }
  if (has_gid && setgid((gid_t)gid) < 0) return fail("setgid", NULL);
  if (has_uid && setuid((uid_t)uid) < 0) return fail("setuid", NULL);
  /* What it runs is its workspace's first out-of-memory victim, never the agent (best effort: raising needs no
     privilege). */
  int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (oom >= 0) {
    ssize_t ignored = write(oom, "1000", 4);
    (void)ignored;
    close(oom);
  }
  execv(path, child_argv);
  int err = errno;
  fail("cannot execute", path);
  return err == ENOENT ? 127 : 126;
}
