/**
 * The spawn helper: a tiny process that starts tasks for the agent.
 *
 * Why: fork() costs grow with the parent's memory, and the agent (a Node
 * process with a JIT, a heap and a web framework) is large, so spawning
 * straight from the agent is several times slower than spawning from a
 * small process. The helper uses posix_spawn (vfork-style in glibc) from a
 * process of a few hundred KiB, and hands the child's stdio sockets to the
 * agent over Node's IPC channel (SCM_RIGHTS, the `NODE_HANDLE` message
 * format), so output then flows from the task straight to the agent.
 *
 * Agent → helper (stdin): records `u32 length (LE)` + NUL-terminated strings
 *   id, cwd, file, argc, argv[0..argc), envc ("-" = inherit), env[0..envc).
 * Helper → agent (IPC fd, one JSON line per message):
 *   three NODE_HANDLE messages (stdin as a bare handle, stdout and stderr as sockets) with
 *   `{"t":"fd","id":…,"fd":0|1|2}`, sent before the spawn so that the agent
 *   takes them in while the program starts; then `{"t":"pid","id":…,"pid":…}`,
 *   or `{"t":"fail","id":…,"errno":…}` (the agent drops the sockets);
 *   later `{"t":"exit","pid":…,"code":…,"signal":…}`.
 * The agent acknowledges each handle (Node's IPC protocol); the helper reads
 * those acknowledgements only when it is awake anyway (a request, an exit),
 * so they cost it no wake-up of their own.
 * The children get a new session (their own process group), default signal
 * dispositions and an empty signal mask, like libuv's detached children.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* The helper's own oom_score_adj (the agent's), read at start. */
static char own_oom_score_adj[16] = "0";
/* Opened once: every write of the file sets the value anew (two per spawn). */
static int oom_fd = -1;

static void set_oom_score_adj(const char *value) {
  if (oom_fd < 0) return;
  ssize_t ignored = write(oom_fd, value, strlen(value));
  (void)ignored;
}

static void read_oom_score_adj(void) {
  int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, own_oom_score_adj, sizeof own_oom_score_adj - 1);
  close(fd);
  own_oom_score_adj[n > 0 ? n : 0] = '\0';
  if (n <= 0) strcpy(own_oom_score_adj, "0");
}

extern char **environ;
static int ipc = -1;

static void write_all(int fd, const char *buf, size_t len, int pass_fd) {
  int first = 1;
  while (len > 0) {
    struct iovec iov = { (void *)buf, len };
    struct msghdr msg = { 0 };
    char control[CMSG_SPACE(sizeof(int))];
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (first && pass_fd >= 0) {
      memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) { struct pollfd p = { fd, POLLOUT, 0 }; poll(&p, 1, -1); continue; }
      exit(0); /* the agent is gone */
    }
    first = 0;
    buf += n;
    len -= (size_t)n;
  }
}

static void send_line(const char *line, int pass_fd) { write_all(ipc, line, strlen(line), pass_fd); }

/* Messages without a descriptor are gathered and sent together: the agent then takes them in one read
   (one wake-up) rather than one each. */
static char queued[8192];
static size_t queued_len = 0;

static void flush_lines(void) {
  if (queued_len == 0) return;
  write_all(ipc, queued, queued_len, -1);
  queued_len = 0;
}

static void queue_line(const char *line) {
  size_t len = strlen(line);
  if (queued_len + len > sizeof queued) flush_lines();
  memcpy(queued + queued_len, line, len);
  queued_len += len;
}

/* Reads and drops the agent's handle acknowledgements that have arrived; never waits. */
static void drain_acks(void) {
  char sink[4096];
  while (recv(ipc, sink, sizeof sink, MSG_DONTWAIT) > 0) {}
}

static int read_full(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n == 0) return 0;
    if (n < 0) { if (errno == EINTR) continue; return 0; }
    p += n;
    len -= (size_t)n;
  }
  return 1;
}

/* Reports every child that has exited (queued; the caller flushes). */
static void reap(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    char line[128];
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    snprintf(line, sizeof line, "{\"t\":\"exit\",\"pid\":%d,\"code\":%d,\"signal\":%d}\n", (int)pid, code, sig);
    queue_line(line);
  }
}

/* The long-lived descriptors (stdio, the IPC channel, the signalfd, oom_score_adj): never closed by a range. */
static int sfd = -1;

static int long_lived_in(int lo, int hi) {
  int fds[] = { 0, 1, 2, ipc, sfd, oom_fd };
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    if (fds[i] >= lo && fds[i] <= hi) return 1;
  return 0;
}

/* Closes this helper's copies of the task's ends. Their last copy may be the one that gives the agent EOF
   (a program that has already exited), so they go in one system call: the agent, woken by them, then finds
   all three at once instead of taking the processor back after each close. Between the lowest and the
   highest of them there are only descriptors of this request (the agent's ends, already closed), unless a
   long-lived one sits there. */
static void close_task_ends(int pairs[3][2]) {
  int lo = pairs[0][1], hi = pairs[0][1];
  for (int i = 1; i < 3; i++) {
    if (pairs[i][1] < lo) lo = pairs[i][1];
    if (pairs[i][1] > hi) hi = pairs[i][1];
  }
  if (!long_lived_in(lo, hi) && close_range((unsigned)lo, (unsigned)hi, 0) == 0) return;
  for (int i = 0; i < 3; i++) close(pairs[i][1]);
}

static void handle_request(char *data, uint32_t len) {
  char *fields[8 + 65536 + 8192];
  size_t nf = 0;
  char *p = data, *end = data + len;
  while (p < end && nf < sizeof fields / sizeof *fields) {
    fields[nf++] = p;
    p += strnlen(p, (size_t)(end - p)) + 1;
  }
  char line[512];
  if (nf < 4 || p < end) {
    /* Every request is answered, so the agent never waits for nothing. */
    if (nf >= 1 && strlen(fields[0]) < 64) {
      snprintf(line, sizeof line, "{\"t\":\"fail\",\"id\":\"%s\",\"errno\":\"E2BIG\"}\n", fields[0]);
      send_line(line, -1);
    }
    return;
  }
  const char *id = fields[0], *cwd = fields[1], *file = fields[2];
  long argc = strtol(fields[3], NULL, 10);
  if (argc < 1 || (size_t)(4 + argc) > nf) {
    snprintf(line, sizeof line, "{\"t\":\"fail\",\"id\":\"%s\",\"errno\":\"EINVAL\"}\n", id);
    send_line(line, -1);
    return;
  }
  char **argv = calloc((size_t)argc + 1, sizeof(char *));
  for (long i = 0; i < argc; i++) argv[i] = fields[4 + i];
  size_t at = 4 + (size_t)argc;
  char **envp = environ;
  char **own_env = NULL;
  if (at < nf && strcmp(fields[at], "-") != 0) {
    long envc = strtol(fields[at], NULL, 10);
    if (envc < 0 || at + 1 + (size_t)envc > nf) envc = 0;
    own_env = calloc((size_t)envc + 1, sizeof(char *));
    for (long i = 0; i < envc; i++) own_env[i] = fields[at + 1 + i];
    envp = own_env;
  }

  int pairs[3][2];
  int made = 0;
  for (; made < 3; made++)
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pairs[made]) < 0) break;
  if (made < 3) {
    int err = errno;
    for (int i = 0; i < made; i++) { close(pairs[i][0]); close(pairs[i][1]); }
    snprintf(line, sizeof line, "{\"t\":\"fail\",\"id\":\"%s\",\"errno\":\"%s\"}\n", id, strerrorname_np(err));
    send_line(line, -1);
    free(argv); free(own_env);
    return;
  }

  /* The agent's ends must not block: a write to a full stdin from the agent's event loop
     would stall every request (and the task's output it is waiting to read). The task's
     ends stay blocking, as programs expect of their stdio. */
  for (int i = 0; i < 3; i++) fcntl(pairs[i][0], F_SETFL, fcntl(pairs[i][0], F_GETFL) | O_NONBLOCK);

  /* The agent's ends go first: it sets them up while the program starts. stdin goes as a bare handle
     (`net.Native`): the agent makes a stream of it only if the task gets input. */
  for (int i = 0; i < 3; i++) {
    snprintf(line, sizeof line, "{\"cmd\":\"NODE_HANDLE\",\"type\":\"%s\",\"msg\":{\"t\":\"fd\",\"id\":\"%s\",\"fd\":%d}}\n",
             i == 0 ? "net.Native" : "net.Socket", id, i);
    send_line(line, pairs[i][0]);
    close(pairs[i][0]);
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int i = 0; i < 3; i++) posix_spawn_file_actions_adddup2(&fa, pairs[i][1], i);
  posix_spawn_file_actions_addchdir_np(&fa, cwd);
  posix_spawnattr_t at_;
  posix_spawnattr_init(&at_);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at_, &none);
  posix_spawnattr_setsigdefault(&at_, &all);
  posix_spawnattr_setflags(&at_, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
  pid_t pid;
  /* The task is the workspace's first out-of-memory victim, never the agent: it is spawned with the highest
     oom_score_adj (inherited from this helper, raised just for the spawn, then put back; raising needs no
     privilege and coming back down to where the container started is allowed). */
  set_oom_score_adj("1000");
  int rc = strchr(file, '/') ? posix_spawn(&pid, file, &fa, &at_, argv, envp) : posix_spawnp(&pid, file, &fa, &at_, argv, envp);
  set_oom_score_adj(own_oom_score_adj);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at_);
  if (rc != 0) snprintf(line, sizeof line, "{\"t\":\"fail\",\"id\":\"%s\",\"errno\":\"%s\"}\n", id, strerrorname_np(rc));
  else snprintf(line, sizeof line, "{\"t\":\"pid\",\"id\":\"%s\",\"pid\":%d}\n", id, (int)pid);
  queue_line(line);
  /* On a busy machine a short program may have run to its end before this helper got the processor back
     from it: its exit then goes with its pid, in the same message. */
  if (rc == 0) reap();
  flush_lines();
  close_task_ends(pairs);
  free(argv);
  free(own_env);
}

int main(void) {
  const char *channel = getenv("NODE_CHANNEL_FD");
  if (!channel) return 2;
  ipc = atoi(channel);
  unsetenv("NODE_CHANNEL_FD");
  unsetenv("NODE_CHANNEL_SERIALIZATION_MODE");
  fcntl(ipc, F_SETFD, FD_CLOEXEC);
  read_oom_score_adj();
  oom_fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  uint32_t cap = 1 << 16;
  char *buf = malloc(cap);
  /* The IPC descriptor is not watched: the agent's end closing shows as the end of stdin (below), and
     the acknowledgements it sends are drained whenever the helper is awake. */
  struct pollfd fds[2] = { { 0, POLLIN, 0 }, { sfd, POLLIN, 0 } };
  for (;;) {
    if (poll(fds, 2, -1) < 0) { if (errno == EINTR) continue; return 1; }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
      reap();
      flush_lines();
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      uint32_t len;
      if (!read_full(0, &len, sizeof len)) return 0;
      if (len > (64u << 20)) return 1;
      if (len > cap) { cap = len; buf = realloc(buf, cap); }
      if (!read_full(0, buf, len)) return 0;
      handle_request(buf, len);
    }
    drain_acks();
  }
}
