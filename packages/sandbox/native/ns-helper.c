/**
 * The sandbox driver's namespace helper: the few kernel calls Node has no binding for. Built at install
 * (scripts/build-native.mjs), run by the driver as root on the host, one short-lived process per call.
 *
 *   ns-helper userns <base> <size> <target> [<netns target>]
 *     Makes a user namespace mapping uids and gids 0 → base (size ids) and pins it at target (a new file,
 *     bind-mounted over with the namespace, as `ip netns add` pins a network namespace). The workspace's
 *     container joins it: root inside is base on the host. With a netns target, also makes the network
 *     namespace owned by it and pins it there (as `netns` below would: one process for both).
 *   ns-helper netns <user namespace file> <target>
 *     Makes a network namespace owned by that user namespace and pins it at target. runc joins the user
 *     namespace before the others (`runc exec` too), so only such a network namespace can be joined after
 *     it; root inside then has its network capabilities there (ports below 1024, raw sockets) and can mount
 *     its sysfs. The host's root still configures it: it is capable in every user namespace.
 *   ns-helper disk <image file> <mount point>
 *     Mounts the ext4 file system in the image file at the mount point through a free loop device, as
 *     `mount -o loop,noatime` does (the device is released by the unmount: autoclear), configured in one call
 *     (LOOP_CONFIGURE) without mount(8)'s own start and checks: a few ms of every workspace's first start.
 *   ns-helper idmap <user namespace file> <source> <target> [<source> <target>]...
 *     Clones each source tree (recursively: open_tree OPEN_TREE_CLONE), marks the clone read-only and
 *     idmapped through the user namespace, and attaches it at target (move_mount). A file owned by uid k
 *     on disk then shows as base+k there, and as k inside the workspace: the image stays shared,
 *     read-only and unshifted.
 *   ns-helper idmap-shift <from> <to> <size> ro|rw <source> <target> [<source> <target>]...
 *     Like idmap, through a user namespace made for the call (not pinned: the mounts hold it) that maps ids
 *     from..from+size-1 to to..to+size-1: a file owned by from+k shows as to+k. Snapshots and forks use it:
 *     a disk cloned from another workspace keeps that workspace's owners, and shows them as its new
 *     workspace's (rw: its upper layer); a snapshot read for an archive shows the owners as seen inside (to 0).
 *     rw also maps host root to itself: overlayfs makes its work directories as its mounter (host root), which
 *     an idmapped upper must be able to represent (EOVERFLOW otherwise); no workspace id maps to it.
 *   ns-helper overlay <target> <upperdir> <workdir> <lowerdir>...
 *     Mounts an overlay at target with the lower directories given top first, through the new mount API
 *     (fsopen + one `lowerdir+` fsconfig per layer): mount(2)'s option string is limited to a page, which
 *     some tens of layers' paths exceed; overlay itself stacks up to 500. Upper and work `-` `-`: a read-only
 *     overlay of the lower directories only (at least two).
 *   ns-helper layer-fixups <dir>
 *     Makes in an unpacked image layer what Node has no call for, from NUL-terminated fields on stdin:
 *     `w <path>` an overlay whiteout (a 0/0 character device), `o <path>` an opaque directory
 *     (trusted.overlay.opaque=y), `p <path> <octal mode> <uid> <gid>` a fifo, `x <path> <name> <hex value>` an
 *     extended attribute. Paths are relative to dir and checked by the caller (no `..`, no symlink on the way).
 *   ns-helper detach-root <root> <disk> <disk log> <log hold>
 *     The host's side of a running container's disk being replaced (its root stays the container's own
 *     mount): binds the disk's log file at log hold (made if missing), unmounts the overlay at root and,
 *     lazily, the disk (its processes hold the log open).
 *   ns-helper switch-root <pid> <new root> [<log hold> <log>]
 *     Gives the running container of process pid another root file system (a warm pooled workspace taking a
 *     fork's disk): the mount at <new root> (the host's view of the new overlay) is cloned, the helper enters
 *     the container's mount namespace, attaches the clone there, puts a recursive clone of each mount the
 *     container's root carries (/proc with its masked paths, /dev, /sys, the agent's and the token's binds...)
 *     at the same place in it, made there if missing (resolved inside the new root: its symlinks cannot lead
 *     out; owned as the root directory is), then pivot_root(2)s into it and detaches the old root. pivot_root moves every process of the
 *     namespace whose root or working directory was the old root, so the container's processes (tini, the
 *     pooled agent waiting to start) run on in the new root; nothing of the old one stays reachable. With a
 *     log hold: first binds it over log (made if missing), then unmounts and deletes the hold.
 *   ns-helper serve
 *     Runs the driver's host commands (ip, nft, runc, mkfs, its own calls...) for it, for as long as its stdin
 *     stays open: each request (on stdin) is forked and executed from this small process, several at once, and
 *     answered (on stdout) with its exit status and output. Node forks its whole process for each command it
 *     spawns, on its main thread: ~2 ms of CPU and more of wall time per command for a server of a few hundred
 *     MiB, ten commands per cold create; a fork of this helper costs a tenth of that. Frames, little-endian:
 *       request:  u32 length, u32 id, u32 timeout ms (0: none), u32 argc, argc × (u32 length, bytes),
 *                 u32 stdin length (0xffffffff: no stdin) and bytes, u32 output file length and bytes (0: stdout
 *                 and stderr captured; else both appended to that file, made 0600 if missing: runc create's log)
 *       response: u32 length, u32 id, i32 status (exit code; 128 + signal when killed), u32 stdout length and
 *                 bytes, u32 stderr length and bytes
 *     A command is started with the environment of this process (the driver's minimal one), default signal
 *     dispositions, and SIGTERM at its timeout. Once stdin closes, the helper exits when its commands have.
 *   ns-helper shift <base> <size> <dir>
 *     Shifts the owners of every file under dir (one file system, symlinks not followed) into the range:
 *     id k < size becomes base+k, an id already in the range stays (so a run cut short can be run again),
 *     any other id becomes base+65534 (nobody). Set-id bits cleared by the chown are restored; file
 *     capabilities are rewritten for the range's root (v3, rootid base); POSIX ACL entries are shifted.
 *
 * Exit status 0 on success; 1 with a message on stderr naming the failed call otherwise (2: usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/loop.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The new mount API, by number: Debian 12's glibc headers clash with <linux/mount.h>. */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#define FSOPEN_CLOEXEC_ 1
#define FSMOUNT_CLOEXEC_ 1
#define FSCONFIG_SET_STRING_ 1
#define FSCONFIG_CMD_CREATE_ 6
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define OPEN_TREE_CLONE_ 1
#define OPEN_TREE_CLOEXEC_ O_CLOEXEC
#define AT_RECURSIVE_ 0x8000
#define MOVE_MOUNT_F_EMPTY_PATH_ 0x00000004
#define MOUNT_ATTR_RDONLY_ 0x00000001
#define MOUNT_ATTR_IDMAP_ 0x00100000

struct mount_attr_ {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

static void die(const char *what, const char *arg) {
  fprintf(stderr, "ns-helper: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
  exit(1);
}

static unsigned long parse_id(const char *text, const char *name) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(text, &end, 10);
  if (errno || *end || end == text || v > 0xfffffffeUL) {
    fprintf(stderr, "ns-helper: invalid %s '%s'\n", name, text);
    exit(2);
  }
  return v;
}

static void write_file(const char *file, const char *text) {
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open", file);
  size_t len = strlen(text);
  if (write(fd, text, len) != (ssize_t)len) die("write", file);
  close(fd);
}

/* Forks a child that runs `enter` (it may set up namespaces of its own), waits until it has, and gives its
 * pid: the caller then reads or pins the child's namespaces. `release` lets it go. */
struct child {
  pid_t pid;
  int hold;
};

static struct child fork_child(int (*enter)(void *), void *arg) {
  int ready[2], hold[2];
  if (pipe2(ready, O_CLOEXEC) || pipe2(hold, O_CLOEXEC)) die("pipe", NULL);
  pid_t pid = fork();
  if (pid < 0) die("fork", NULL);
  if (pid == 0) {
    char c = 0;
    close(ready[0]);
    close(hold[1]);
    if (enter(arg)) {
      fprintf(stderr, "ns-helper: in the child: %s\n", strerror(errno));
      _exit(1);
    }
    if (write(ready[1], &c, 1) != 1) _exit(1);
    /* Until the parent is done with our namespaces (it closes its end then). */
    while (read(hold[0], &c, 1) < 0 && errno == EINTR) {}
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  char c;
  if (read(ready[0], &c, 1) != 1) {
    errno = ECHILD;
    die("setting up the child's namespaces", NULL);
  }
  close(ready[0]);
  return (struct child){ pid, hold[1] };
}

static void release(struct child *child) {
  close(child->hold);
  waitpid(child->pid, NULL, 0);
}

/* Pins a namespace of the child as a file (an nsfs bind mount, as `ip netns add` does): it lives until unmounted. */
static void pin(struct child *child, const char *type, const char *target) {
  char file[64];
  snprintf(file, sizeof file, "/proc/%d/ns/%s", (int)child->pid, type);
  int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) die("create", target);
  close(fd);
  if (mount(file, target, NULL, MS_BIND, NULL)) {
    int err = errno;
    unlink(target);
    errno = err;
    die("bind-mount the namespace on", target);
  }
}

static int enter_userns(void *arg) {
  (void)arg;
  return unshare(CLONE_NEWUSER);
}

static void make_netns(const char *userns_file, const char *target);

static int cmd_userns(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: ns-helper userns <base> <size> <target> [<netns target>]\n");
    return 2;
  }
  unsigned long base = parse_id(argv[0], "base"), size = parse_id(argv[1], "size");
  struct child child = fork_child(enter_userns, NULL);
  /* Root of the parent namespace may map any host ids: no setgroups change needed. */
  char file[64], map[64];
  snprintf(map, sizeof map, "0 %lu %lu\n", base, size);
  snprintf(file, sizeof file, "/proc/%d/uid_map", (int)child.pid);
  write_file(file, map);
  snprintf(file, sizeof file, "/proc/%d/gid_map", (int)child.pid);
  write_file(file, map);
  pin(&child, "user", argv[2]);
  release(&child);
  if (argc == 4) make_netns(argv[2], argv[3]);
  return 0;
}

static int enter_netns(void *arg) {
  /* Joining a user namespace gives every capability in it: enough to make a network namespace it owns. */
  if (setns(*(int *)arg, CLONE_NEWUSER)) return -1;
  return unshare(CLONE_NEWNET);
}

static void make_netns(const char *userns_file, const char *target) {
  int userns = open(userns_file, O_RDONLY | O_CLOEXEC);
  if (userns < 0) die("open", userns_file);
  struct child child = fork_child(enter_netns, &userns);
  pin(&child, "net", target);
  release(&child);
  close(userns);
}

static int cmd_netns(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: ns-helper netns <user namespace file> <target>\n");
    return 2;
  }
  make_netns(argv[0], argv[1]);
  return 0;
}

/* Attaches the image file to a free loop device (autoclear: released when its last user, the mount, goes) and
 * gives the device's fd and path. Another process may take the free device first: tried again. */
static int attach_loop(const char *image, char *device, size_t size) {
  int file = open(image, O_RDWR | O_CLOEXEC);
  if (file < 0) die("open", image);
  int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) die("open", "/dev/loop-control");
  for (int attempt = 0; attempt < 64; attempt++) {
    int n = ioctl(control, LOOP_CTL_GET_FREE);
    if (n < 0) die("LOOP_CTL_GET_FREE", NULL);
    snprintf(device, size, "/dev/loop%d", n);
    int loop = open(device, O_RDWR | O_CLOEXEC);
    if (loop < 0) {
      if (errno == ENOENT || errno == ENXIO) continue;
      die("open", device);
    }
    struct loop_config config;
    memset(&config, 0, sizeof config);
    config.fd = (uint32_t)file;
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    strncpy((char *)config.info.lo_file_name, image, LO_NAME_SIZE - 1);
    if (ioctl(loop, LOOP_CONFIGURE, &config) == 0) {
      close(control);
      close(file);
      return loop;
    }
    int err = errno;
    close(loop);
    if (err != EBUSY) {
      errno = err;
      die("LOOP_CONFIGURE", device);
    }
  }
  errno = EBUSY;
  die("no free loop device for", image);
  return -1;
}

static int cmd_disk(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: ns-helper disk <image file> <mount point>\n");
    return 2;
  }
  char device[64];
  int loop = attach_loop(argv[0], device, sizeof device);
  if (mount(device, argv[1], "ext4", MS_NOATIME, NULL)) {
    int err = errno;
    /* Not mounted: the device is let go at once (autoclear acts on the last close only once it was mounted). */
    ioctl(loop, LOOP_CLR_FD, 0);
    errno = err;
    die("mount the disk on", argv[1]);
  }
  close(loop);
  return 0;
}

static int cmd_idmap(int argc, char **argv) {
  if (argc < 3 || argc % 2 != 1) {
    fprintf(stderr, "usage: ns-helper idmap <user namespace file> <source> <target> [<source> <target>]...\n");
    return 2;
  }
  int userns = open(argv[0], O_RDONLY | O_CLOEXEC);
  if (userns < 0) die("open", argv[0]);
  for (int i = 1; i < argc; i += 2) {
    const char *source = argv[i], *target = argv[i + 1];
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE_ | OPEN_TREE_CLOEXEC_ | AT_RECURSIVE_);
    if (tree < 0) die("open_tree", source);
    struct mount_attr_ attr = { .attr_set = MOUNT_ATTR_IDMAP_ | MOUNT_ATTR_RDONLY_, .userns_fd = (uint64_t)userns };
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE_, &attr, sizeof attr)) die("mount_setattr (idmap)", source);
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH_)) die("move_mount to", target);
    close(tree);
  }
  return 0;
}

/* The child of idmap-shift: a user namespace of its own, mapped by the parent. */
static int enter_plain_userns(void *arg) {
  (void)arg;
  return unshare(CLONE_NEWUSER);
}

static int cmd_idmap_shift(int argc, char **argv) {
  if (argc < 6 || argc % 2 != 0 || (strcmp(argv[3], "ro") && strcmp(argv[3], "rw"))) {
    fprintf(stderr, "usage: ns-helper idmap-shift <from> <to> <size> ro|rw <source> <target> [<source> <target>]...\n");
    return 2;
  }
  unsigned long from = parse_id(argv[0], "from"), to = parse_id(argv[1], "to"), size = parse_id(argv[2], "size");
  if (size == 0 || from + size - 1 > 0xfffffffeUL || to + size - 1 > 0xfffffffeUL) {
    fprintf(stderr, "ns-helper: the mapping leaves the id space\n");
    return 2;
  }
  int readonly = strcmp(argv[3], "ro") == 0;
  if (!readonly && (from == 0 || to == 0)) {
    fprintf(stderr, "ns-helper: a writable view keeps host root as it is: neither range may start at 0\n");
    return 2;
  }
  struct child child = fork_child(enter_plain_userns, NULL);
  char file[64], map[128];
  if (readonly) snprintf(map, sizeof map, "%lu %lu %lu\n", from, to, size);
  else snprintf(map, sizeof map, "0 0 1\n%lu %lu %lu\n", from, to, size);
  snprintf(file, sizeof file, "/proc/%d/uid_map", (int)child.pid);
  write_file(file, map);
  snprintf(file, sizeof file, "/proc/%d/gid_map", (int)child.pid);
  write_file(file, map);
  snprintf(file, sizeof file, "/proc/%d/ns/user", (int)child.pid);
  int userns = open(file, O_RDONLY | O_CLOEXEC);
  if (userns < 0) die("open", file);
  for (int i = 4; i < argc; i += 2) {
    const char *source = argv[i], *target = argv[i + 1];
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE_ | OPEN_TREE_CLOEXEC_ | AT_RECURSIVE_);
    if (tree < 0) die("open_tree", source);
    struct mount_attr_ attr = { .attr_set = MOUNT_ATTR_IDMAP_ | (readonly ? MOUNT_ATTR_RDONLY_ : 0), .userns_fd = (uint64_t)userns };
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE_, &attr, sizeof attr)) die("mount_setattr (idmap)", source);
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH_)) die("move_mount to", target);
    close(tree);
  }
  close(userns);
  release(&child);
  return 0;
}

/* The kernel's own words on a failed fsconfig (read from the context's fd), appended to the error. */
static void die_fs(int fs, const char *what, const char *arg) {
  int err = errno;
  char log[512];
  ssize_t n = read(fs, log, sizeof log - 1);
  if (n > 0) {
    log[n] = 0;
    if (log[n - 1] == '\n') log[n - 1] = 0;
    fprintf(stderr, "ns-helper: %s %s: %s (%s)\n", what, arg, strerror(err), log);
    exit(1);
  }
  errno = err;
  die(what, arg);
}

static void fs_set(int fs, const char *key, const char *value) {
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING_, key, value, 0)) die_fs(fs, key, value);
}

static int cmd_overlay(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: ns-helper overlay <target> <upperdir> <workdir> <lowerdir>...\n");
    return 2;
  }
  int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC_);
  if (fs < 0) die("fsopen", "overlay");
  fs_set(fs, "source", "overlay");
  for (int i = 3; i < argc; i++) fs_set(fs, "lowerdir+", argv[i]);
  /* `-` `-`: no upper layer, a read-only overlay of the lower directories (archives read one). */
  if (strcmp(argv[1], "-") || strcmp(argv[2], "-")) {
    fs_set(fs, "upperdir", argv[1]);
    fs_set(fs, "workdir", argv[2]);
  }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE_, NULL, NULL, 0)) die_fs(fs, "create the overlay on", argv[0]);
  int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC_, 0);
  if (mnt < 0) die("fsmount", argv[0]);
  if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, argv[0], MOVE_MOUNT_F_EMPTY_PATH_)) die("move_mount to", argv[0]);
  return 0;
}

/* The next NUL-terminated field of the input, or NULL at its end. */
static char *next_field(char **pos, char *end) {
  if (*pos >= end) return NULL;
  char *field = *pos, *nul = memchr(field, 0, (size_t)(end - field));
  if (!nul) {
    fprintf(stderr, "ns-helper: layer-fixups: a field is not NUL-terminated\n");
    exit(2);
  }
  *pos = nul + 1;
  return field;
}

static char *need_field(char **pos, char *end) {
  char *f = next_field(pos, end);
  if (!f) {
    fprintf(stderr, "ns-helper: layer-fixups: a record is cut short\n");
    exit(2);
  }
  return f;
}

static int cmd_layer_fixups(int argc, char **argv) {
  if (argc != 1) {
    fprintf(stderr, "usage: ns-helper layer-fixups <dir> < records\n");
    return 2;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len == cap && !(buf = realloc(buf, cap *= 2))) die("realloc", NULL);
    if (!buf) die("malloc", NULL);
    ssize_t n = read(0, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("read", "stdin");
    if (n == 0) break;
    len += (size_t)n;
  }
  int dir = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) die("open", argv[0]);
  char *pos = buf, *end = buf + len, *kind, full[8192];
  while ((kind = next_field(&pos, end))) {
    char *rel = need_field(&pos, end);
    if (snprintf(full, sizeof full, "%s/%s", argv[0], rel) >= (int)sizeof full) {
      errno = ENAMETOOLONG;
      die("path", rel);
    }
    if (strcmp(kind, "w") == 0) {
      if (unlinkat(dir, rel, 0) && errno != ENOENT) die("unlink", full);
      if (mknodat(dir, rel, S_IFCHR | 0, makedev(0, 0))) die("mknod (whiteout)", full);
    } else if (strcmp(kind, "o") == 0) {
      if (lsetxattr(full, "trusted.overlay.opaque", "y", 1, 0)) die("setxattr trusted.overlay.opaque", full);
    } else if (strcmp(kind, "p") == 0) {
      unsigned long mode = strtoul(need_field(&pos, end), NULL, 8) & 07777;
      unsigned long uid = parse_id(need_field(&pos, end), "uid"), gid = parse_id(need_field(&pos, end), "gid");
      if (mknodat(dir, rel, S_IFIFO | (mode_t)mode, 0)) die("mkfifo", full);
      if (fchownat(dir, rel, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW)) die("chown", full);
      if (fchmodat(dir, rel, (mode_t)mode, 0)) die("chmod", full);
    } else if (strcmp(kind, "x") == 0) {
      char *name = need_field(&pos, end), *hex = need_field(&pos, end);
      size_t n = strlen(hex) / 2;
      unsigned char *value = malloc(n + 1);
      if (!value) die("malloc", NULL);
      for (size_t i = 0; i < n; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
          fprintf(stderr, "ns-helper: layer-fixups: bad hex value for %s\n", name);
          return 2;
        }
        value[i] = (unsigned char)byte;
      }
      if (lsetxattr(full, name, value, n, 0)) die("setxattr", full);
      free(value);
    } else {
      fprintf(stderr, "ns-helper: layer-fixups: unknown record '%s'\n", kind);
      return 2;
    }
  }
  return 0;
}

static unsigned long shift_base, shift_size;

static unsigned long shifted(unsigned long id) {
  if (id < shift_size) return shift_base + id;
  if (id >= shift_base && id < shift_base + shift_size) return id;
  return shift_base + 65534;
}

/* File capabilities name the root they apply for (v3); v2 ones (the host's root) would be ignored inside. */
static void shift_caps(const char *path, const unsigned char *caps, ssize_t len) {
  if (len < 20) return;
  unsigned char v3[24];
  uint32_t magic;
  memcpy(&magic, caps, 4);
  uint32_t version = magic & 0xff000000U;
  uint32_t root = (uint32_t)shift_base;
  if (version == 0x03000000U && len >= 24) {
    uint32_t old;
    memcpy(&old, caps + 20, 4);
    root = (uint32_t)shifted(old);
  } else if (version != 0x02000000U) {
    return;
  }
  memcpy(v3, caps, 20);
  magic = 0x03000000U | (magic & 0x00ffffffU);
  memcpy(v3, &magic, 4);
  memcpy(v3 + 20, &root, 4);
  if (lsetxattr(path, "security.capability", v3, sizeof v3, 0)) die("setxattr security.capability", path);
}

/* POSIX ACLs (xattr format: u32 version, then {u16 tag, u16 perm, u32 id}): named users' and groups' ids. */
static void shift_acl(const char *path, const char *name) {
  unsigned char buf[4096];
  ssize_t len = lgetxattr(path, name, buf, sizeof buf);
  if (len < 4) return;
  for (ssize_t off = 4; off + 8 <= len; off += 8) {
    uint16_t tag;
    uint32_t id;
    memcpy(&tag, buf + off, 2);
    if (tag != 0x02 && tag != 0x08) continue; /* ACL_USER, ACL_GROUP */
    memcpy(&id, buf + off + 4, 4);
    id = (uint32_t)shifted(id);
    memcpy(buf + off + 4, &id, 4);
  }
  if (lsetxattr(path, name, buf, (size_t)len, 0)) die("setxattr", path);
}

static int shift_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)flag;
  (void)ftw;
  uid_t uid = (uid_t)shifted(st->st_uid);
  gid_t gid = (gid_t)shifted(st->st_gid);
  if (uid == st->st_uid && gid == st->st_gid) return 0;
  unsigned char caps[32];
  ssize_t caps_len = S_ISREG(st->st_mode) ? lgetxattr(path, "security.capability", caps, sizeof caps) : -1;
  if (lchown(path, uid, gid)) die("lchown", path);
  if (S_ISLNK(st->st_mode)) return 0;
  /* chown clears set-id bits (for root too) and file capabilities. */
  if ((st->st_mode & (S_ISUID | S_ISGID)) && chmod(path, st->st_mode & 07777)) die("chmod", path);
  if (caps_len > 0) shift_caps(path, caps, caps_len);
  shift_acl(path, "system.posix_acl_access");
  if (S_ISDIR(st->st_mode)) shift_acl(path, "system.posix_acl_default");
  return 0;
}

static int cmd_shift(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: ns-helper shift <base> <size> <dir>\n");
    return 2;
  }
  shift_base = parse_id(argv[0], "base");
  shift_size = parse_id(argv[1], "size");
  if (shift_size < 65535 || shift_base < shift_size) {
    fprintf(stderr, "ns-helper: the range must hold 65536 ids and lie above them\n");
    return 2;
  }
  if (nftw(argv[2], shift_one, 64, FTW_PHYS | FTW_MOUNT)) die("walk", argv[2]);
  return 0;
}

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root 155
#endif
#define MOVE_MOUNT_T_EMPTY_PATH_ 0x00000040
#define RESOLVE_NO_MAGICLINKS_ 0x02
#define RESOLVE_IN_ROOT_ 0x10

struct open_how_ {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};

/* Opens path (absolute, read as relative to root) inside the tree at root: symlinks resolve within it. */
static int open_in_root(int root, const char *path, int flags) {
  while (*path == '/') path++;
  struct open_how_ how = { .flags = (uint64_t)(flags | O_CLOEXEC), .mode = 0, .resolve = RESOLVE_IN_ROOT_ | RESOLVE_NO_MAGICLINKS_ };
  return (int)syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof how);
}

/* The mount point path inside root, made when missing (its parents as directories; itself as one, or as an
 * empty file for a mount of a file), every step resolved inside root. */
static int mount_point_in_root(int root, const char *path, int dir) {
  int fd = open_in_root(root, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) return fd;
  char buf[4096];
  if (strlen(path) >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(buf, path);
  char *slash = strrchr(buf, '/');
  const char *name = slash ? slash + 1 : buf;
  int parent;
  if (slash && slash != buf) {
    *slash = 0;
    parent = mount_point_in_root(root, buf, 1);
  } else {
    parent = dup(root);
  }
  if (parent < 0) return -1;
  int dirfd = (int)syscall(SYS_openat2, parent, ".", &(struct open_how_){ .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC }, sizeof(struct open_how_));
  close(parent);
  if (dirfd < 0) return -1;
  int made = dir ? mkdirat(dirfd, name, 0755) : 0;
  if (!dir) {
    int f = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0) made = -1;
    else close(f);
  }
  if (made && errno != EEXIST) {
    close(dirfd);
    return -1;
  }
  /* Owned as the root's top directory is (the workspace's root), as the runtime would have made it inside. */
  struct stat top;
  if (!made && fstat(root, &top) == 0) (void)fchownat(dirfd, name, top.st_uid, top.st_gid, AT_SYMLINK_NOFOLLOW);
  fd = (int)syscall(SYS_openat2, dirfd, name, &(struct open_how_){ .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC }, sizeof(struct open_how_));
  close(dirfd);
  return fd;
}

/* A mount point of /proc/self/mountinfo, its octal escapes decoded in place. */
static void unescape(char *s) {
  char *o = s;
  for (char *i = s; *i; i++) {
    if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] >= '0' && i[2] <= '7' && i[3] >= '0' && i[3] <= '7') {
      *o++ = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
      i += 3;
    } else {
      *o++ = *i;
    }
  }
  *o = 0;
}

#define NEXT_ROOT "/.cove-next-root"

/* Binds the file `source` over `target`, made (empty, 0600) when missing. */
static void bind_file(const char *source, const char *target) {
  int fd = open(target, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) die("create", target);
  close(fd);
  if (mount(source, target, NULL, MS_BIND, NULL)) die("bind-mount on", target);
}

static int cmd_detach_root(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: ns-helper detach-root <root> <disk> <disk log> <log hold>\n");
    return 2;
  }
  /* The log first, so that its file system stays reachable once the disk's mount goes. */
  bind_file(argv[2], argv[3]);
  if (umount2(argv[0], 0)) die("umount", argv[0]);
  /* Lazily: the log its processes hold open keeps the disk's mount busy. */
  if (umount2(argv[1], MNT_DETACH)) die("umount", argv[1]);
  return 0;
}

static int cmd_switch_root(int argc, char **argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: ns-helper switch-root <pid> <new root> [<log hold> <log>]\n");
    return 2;
  }
  unsigned long pid = parse_id(argv[0], "pid");
  if (argc == 4) {
    /* The held log goes over the new disk's log path (where the host reads it); the hold itself goes. */
    bind_file(argv[2], argv[3]);
    if (umount2(argv[2], 0)) die("umount", argv[2]);
    if (unlink(argv[2])) die("unlink", argv[2]);
  }
  /* The mounts directly on the container's root (its process's view: paths inside), in the order they were
   * made (a later one may cover an earlier); read before entering its namespace, whose /proc is not ours. */
  char file[64];
  snprintf(file, sizeof file, "/proc/%lu/mountinfo", pid);
  FILE *info = fopen(file, "re");
  if (!info) die("open", file);
  char *line = NULL;
  size_t cap = 0;
  char points[256][512];
  int n = 0;
  long root_id = -1;
  long parents[256];
  while (getline(&line, &cap, info) > 0) {
    long id, parent;
    char point[512];
    if (sscanf(line, "%ld %ld %*s %*s %511s", &id, &parent, point) != 3) continue;
    unescape(point);
    if (strcmp(point, "/") == 0) {
      root_id = id;
      continue;
    }
    if (n == 256) {
      fprintf(stderr, "ns-helper: too many mounts in the container\n");
      return 1;
    }
    parents[n] = parent;
    strcpy(points[n], point);
    n++;
  }
  free(line);
  fclose(info);
  if (root_id < 0) {
    fprintf(stderr, "ns-helper: the container's root is not in its mountinfo\n");
    return 1;
  }
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, argv[1], OPEN_TREE_CLONE_ | OPEN_TREE_CLOEXEC_);
  if (tree < 0) die("open_tree", argv[1]);
  snprintf(file, sizeof file, "/proc/%lu/ns/mnt", pid);
  int ns = open(file, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die("open", file);
  if (setns(ns, CLONE_NEWNS)) die("setns", file);
  close(ns);
  /* Our root and working directory are now the container's root. */
  if (mkdir(NEXT_ROOT, 0700) && errno != EEXIST) die("mkdir", NEXT_ROOT);
  if (syscall(SYS_move_mount, tree, "", AT_FDCWD, NEXT_ROOT, MOVE_MOUNT_F_EMPTY_PATH_)) die("move_mount to", NEXT_ROOT);
  close(tree);
  int root = open(NEXT_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) die("open", NEXT_ROOT);
  for (int i = 0; i < n; i++) {
    if (parents[i] != root_id) continue;
    int src = (int)syscall(SYS_open_tree, AT_FDCWD, points[i], OPEN_TREE_CLONE_ | OPEN_TREE_CLOEXEC_ | AT_RECURSIVE_);
    if (src < 0) die("open_tree", points[i]);
    struct stat st;
    if (fstat(src, &st)) die("stat", points[i]);
    int target = mount_point_in_root(root, points[i], S_ISDIR(st.st_mode));
    if (target < 0) die("make the mount point", points[i]);
    if (syscall(SYS_move_mount, src, "", target, "", MOVE_MOUNT_F_EMPTY_PATH_ | MOVE_MOUNT_T_EMPTY_PATH_)) die("move_mount to", points[i]);
    close(target);
    close(src);
  }
  if (fchdir(root)) die("chdir", NEXT_ROOT);
  if (syscall(SYS_pivot_root, ".", ".")) die("pivot_root", NEXT_ROOT);
  /* The old root is now stacked under the new one at "/": detached, with everything on it. */
  /* As runc does: the detach must not propagate to a mount the old root shares with the host. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL)) die("make the old root a slave", NULL);
  if (umount2(".", MNT_DETACH)) die("detach the old root", NULL);
  if (chdir("/")) die("chdir", "/");
  return 0;
}

/* ---- serve: the driver's commands, forked from this small process (see the top of the file) ---- */

struct buf {
  char *data;
  size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t len) {
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) die("realloc", NULL);
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
}

static void buf_u32(struct buf *b, uint32_t v) {
  buf_add(b, &v, 4);
}

struct job {
  uint32_t id;
  pid_t pid;
  int out, err, in; /* pipes (-1: closed or not used) */
  struct buf input, stdout_, stderr_;
  size_t input_off;
  int exited, status;
  int64_t deadline; /* ms, 0: none */
  struct job *next;
};

static struct job *jobs;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("write", "the answer");
    data += n;
    len -= (size_t)n;
  }
}

static int take_u32(const char **pos, const char *end, uint32_t *v) {
  if (end - *pos < 4) return -1;
  memcpy(v, *pos, 4);
  *pos += 4;
  return 0;
}

/* Starts the command of one request frame (its payload); -1 when the frame is malformed. */
static int start_job(const char *pos, const char *end) {
  uint32_t id, timeout, argc, len;
  if (take_u32(&pos, end, &id) || take_u32(&pos, end, &timeout) || take_u32(&pos, end, &argc)) return -1;
  if (argc == 0 || argc > 4096) return -1;
  char **argv = calloc(argc + 1, sizeof *argv);
  if (!argv) die("calloc", NULL);
  for (uint32_t i = 0; i < argc; i++) {
    if (take_u32(&pos, end, &len) || (uint32_t)(end - pos) < len) return -1;
    argv[i] = strndup(pos, len);
    pos += len;
  }
  struct job *job = calloc(1, sizeof *job);
  if (!job) die("calloc", NULL);
  job->id = id;
  job->in = job->out = job->err = -1;
  if (take_u32(&pos, end, &len)) return -1;
  int has_input = len != 0xffffffffu;
  if (has_input) {
    if ((uint32_t)(end - pos) < len) return -1;
    buf_add(&job->input, pos, len);
    pos += len;
  }
  if (take_u32(&pos, end, &len) || (uint32_t)(end - pos) < len) return -1;
  char *output = len ? strndup(pos, len) : NULL;
  int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
  if (has_input && pipe2(in, O_CLOEXEC)) die("pipe", NULL);
  if (!output && (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))) die("pipe", NULL);
  pid_t pid = fork();
  if (pid < 0) die("fork", NULL);
  if (pid == 0) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    int fd0 = has_input ? in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
    int fd1 = output ? open(output, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : out[1];
    int fd2 = output ? fd1 : err[1];
    if (fd0 < 0 || fd1 < 0 || dup2(fd0, 0) < 0 || dup2(fd1, 1) < 0 || dup2(fd2, 2) < 0) {
      fprintf(stderr, "ns-helper serve: setting up %s: %s\n", argv[0], strerror(errno));
      _exit(127);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "ns-helper serve: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  for (uint32_t i = 0; i < argc; i++) free(argv[i]);
  free(argv);
  free(output);
  if (has_input) {
    close(in[0]);
    job->in = in[1];
    fcntl(job->in, F_SETFL, O_NONBLOCK);
    if (job->input.len == 0) {
      close(job->in);
      job->in = -1;
    }
  }
  if (out[0] >= 0) {
    close(out[1]);
    close(err[1]);
    job->out = out[0];
    job->err = err[0];
    /* Read only when poll says so, never waiting: one command's pipes must not hold the others up. */
    fcntl(job->out, F_SETFL, O_NONBLOCK);
    fcntl(job->err, F_SETFL, O_NONBLOCK);
  }
  job->pid = pid;
  job->deadline = timeout ? now_ms() + timeout : 0;
  job->next = jobs;
  jobs = job;
  return 0;
}

static void answer(struct job *job) {
  struct buf frame = { 0 };
  uint32_t len = 4 + 4 + 4 + (uint32_t)job->stdout_.len + 4 + (uint32_t)job->stderr_.len;
  buf_u32(&frame, len);
  buf_u32(&frame, job->id);
  buf_u32(&frame, (uint32_t)job->status);
  buf_u32(&frame, (uint32_t)job->stdout_.len);
  if (job->stdout_.len) buf_add(&frame, job->stdout_.data, job->stdout_.len);
  buf_u32(&frame, (uint32_t)job->stderr_.len);
  if (job->stderr_.len) buf_add(&frame, job->stderr_.data, job->stderr_.len);
  write_all(1, frame.data, frame.len);
  free(frame.data);
}

/* Reads what a pipe has into `into`; closes it at its end. */
static void drain(int *fd, struct buf *into) {
  char chunk[65536];
  ssize_t n = read(*fd, chunk, sizeof chunk);
  if (n > 0) buf_add(into, chunk, (size_t)n);
  else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    close(*fd);
    *fd = -1;
  }
}

static int cmd_serve(int argc, char **argv) {
  (void)argv;
  if (argc != 0) {
    fprintf(stderr, "usage: ns-helper serve\n");
    return 2;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd", NULL);
  /* The answers' descriptor must not reach the commands (dup2 over it in the child replaces it anyway). */
  struct buf requests = { 0 };
  int input_open = 1;
  /* Ready: the driver sends nothing before it has read this (a helper without `serve` exits instead). */
  write_all(1, "\0\0\0\0", 4);
  for (;;) {
    if (!input_open && !jobs) return 0;
    size_t n = 2;
    for (struct job *j = jobs; j; j = j->next) n += 3;
    struct pollfd *fds = calloc(n, sizeof *fds);
    if (!fds) die("calloc", NULL);
    size_t k = 0;
    fds[k++] = (struct pollfd){ .fd = input_open ? 0 : -1, .events = POLLIN };
    fds[k++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    int64_t wait = -1, now = now_ms();
    for (struct job *j = jobs; j; j = j->next) {
      fds[k++] = (struct pollfd){ .fd = j->out, .events = POLLIN };
      fds[k++] = (struct pollfd){ .fd = j->err, .events = POLLIN };
      fds[k++] = (struct pollfd){ .fd = j->in, .events = POLLOUT };
      if (j->deadline && !j->exited) {
        int64_t left = j->deadline > now ? j->deadline - now : 0;
        if (wait < 0 || left < wait) wait = left;
      }
    }
    if (poll(fds, k, (int)wait) < 0 && errno != EINTR) die("poll", NULL);
    now = now_ms();
    if (fds[1].revents) {
      struct signalfd_siginfo info;
      while (read(sfd, &info, sizeof info) > 0) {}
    }
    k = 2;
    for (struct job *j = jobs; j; j = j->next) {
      if (fds[k].revents) drain(&j->out, &j->stdout_);
      if (fds[k + 1].revents) drain(&j->err, &j->stderr_);
      if (fds[k + 2].revents && j->in >= 0) {
        ssize_t w = write(j->in, j->input.data + j->input_off, j->input.len - j->input_off);
        if (w > 0) j->input_off += (size_t)w;
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || j->input_off == j->input.len) {
          close(j->in);
          j->in = -1;
        }
      }
      k += 3;
      if (j->deadline && !j->exited && now >= j->deadline) {
        kill(j->pid, SIGTERM);
        j->deadline = 0;
      }
    }
    int requested = fds[0].revents != 0;
    free(fds);
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      for (struct job *j = jobs; j; j = j->next) {
        if (j->pid != pid) continue;
        j->exited = 1;
        j->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        /* Its input is of no use any more. */
        if (j->in >= 0) {
          close(j->in);
          j->in = -1;
        }
      }
    }
    /* New requests last: the poll set's entries are the jobs listed above, in that order. */
    if (requested) {
      char chunk[65536];
      ssize_t r = read(0, chunk, sizeof chunk);
      if (r > 0) buf_add(&requests, chunk, (size_t)r);
      else if (r == 0 || errno != EINTR) input_open = 0;
      size_t used = 0;
      while (requests.len - used >= 4) {
        uint32_t len;
        memcpy(&len, requests.data + used, 4);
        if (requests.len - used - 4 < len) break;
        if (start_job(requests.data + used + 4, requests.data + used + 4 + len)) {
          fprintf(stderr, "ns-helper serve: a malformed request\n");
          return 1;
        }
        used += 4 + len;
      }
      memmove(requests.data, requests.data + used, requests.len - used);
      requests.len -= used;
    }
    /* Done: exited and its output read to the end (as Node's `close`). */
    for (struct job **p = &jobs; *p;) {
      struct job *j = *p;
      if (j->exited && j->out < 0 && j->err < 0) {
        answer(j);
        *p = j->next;
        free(j->input.data);
        free(j->stdout_.data);
        free(j->stderr_.data);
        free(j);
      } else {
        p = &j->next;
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "userns") == 0) return cmd_userns(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "idmap") == 0) return cmd_idmap(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "idmap-shift") == 0) return cmd_idmap_shift(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "netns") == 0) return cmd_netns(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "disk") == 0) return cmd_disk(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "serve") == 0) return cmd_serve(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "shift") == 0) return cmd_shift(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "switch-root") == 0) return cmd_switch_root(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "detach-root") == 0) return cmd_detach_root(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "overlay") == 0) return cmd_overlay(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "layer-fixups") == 0) return cmd_layer_fixups(argc - 2, argv + 2);
  fprintf(stderr, "usage: ns-helper userns|netns|idmap|idmap-shift|overlay|layer-fixups|shift ...\n");
  return 2;
}
