// pty-reader: reads one terminal's PTY master for the agent and hands the output over in large pieces.
//
//   pty-reader [gather-us]      fd 3: the PTY master (a copy of the agent's; its O_NONBLOCK is shared)
//                               stdout: a pipe or socket the agent reads
//
// The master comes as fd 3, not stdin: libuv makes a child's stdin blocking, and the flag belongs to the
// open file, so the agent's own copy would turn blocking too.
//
// Why: a PTY master hands out at most about 4 KiB per read, so a program printing fast costs its reader a
// wake-up per 4 KiB; for the agent each is an event-loop turn and a JavaScript callback, which is what
// limited terminal output (bench/results/exec-terminal-profile.md). This loop does the 4 KiB reads (poll +
// read, a few microseconds each) and writes what it gathered at most every <gather-us> (default 1000) or
// once 60 KiB are held, so the agent wakes ~16 times less while output streams. A short read (an echo, a
// prompt, the end of a burst) is written at once: typing gets no delay.
//
// The agent keeps its own copy of the master to write input and resize it. The terminal hangs up only
// once every copy is closed, so this exits as soon as it is not needed:
//   - the master reports end of output (EIO: every process closed the slave): what is left is read and
//     written, then exit 0;
//   - the agent closes its end or dies (the output end reports an error or hang-up; a write fails): exit 1;
//   - SIGTERM (the agent closes the terminal, or the program exited while something else still holds the
//     slave): what the master holds right now (up to 1 MiB) is written, then exit 0.
// While the agent does not read (its clients are backed up), the write blocks and the master is not read:
// the program then blocks on its own writes, as with a direct reader.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/** The PTY master. */
#define MASTER 3
/** Bytes gathered at most before a write (the agent reads 64 KiB at a time). */
#define CAP (64 * 1024)
/** Room for one more PTY read: with less free, the buffer is written first. */
#define READ_ROOM 4096
/** Buffers handed over at most after SIGTERM. */
#define STOP_BUFFERS 16
/** A read at least this long filled the PTY's buffer: more is on its way. */
#define FULL_READ 4000

static char buf[CAP];
static size_t held;
static volatile sig_atomic_t stop;

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static void close_above_master(void) {
  // The agent's other descriptors are close-on-exec, but node-pty's masters of other terminals are not:
  // holding one would keep that terminal from hanging up when it is closed.
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 4U, ~0U, 0U) == 0) return;
#endif
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    for (int fd = MASTER + 1; fd < 65536; fd++) close(fd);
    return;
  }
  int own = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (fd > MASTER && fd != own) close(fd);
  }
  closedir(d);
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/** Writes what is held; a failed write means the agent is gone. */
static void flush(void) {
  size_t at = 0;
  while (at < held) {
    ssize_t w = write(1, buf + at, held - at);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    at += (size_t)w;
  }
  held = 0;
}

/** Reads the master until it has nothing more right now, or the buffer is full (1). */
static int read_available(void) {
  while (held < CAP) {
    ssize_t r = read(MASTER, buf + held, CAP - held);
    if (r > 0) {
      held += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    return 0;  // EAGAIN: nothing more now; EIO: the end
  }
  return 1;
}

int main(int argc, char **argv) {
  long long gather_us = argc > 1 ? atoll(argv[1]) : 1000;
  if (gather_us < 0) gather_us = 0;
  close_above_master();
  // Non-blocking already (the agent's event loop made it so); made sure of, as the final read relies on it.
  int flags = fcntl(MASTER, F_GETFL);
  if (flags < 0) return 2;
  if (!(flags & O_NONBLOCK)) fcntl(MASTER, F_SETFL, flags | O_NONBLOCK);
  signal(SIGPIPE, SIG_DFL);
  // SIGTERM is taken only while waiting in ppoll, so the flag is never missed between a check and a wait.
  sigset_t term, waiting;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &waiting);
  sigdelset(&waiting, SIGTERM);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);

  long long deadline = 0;  // when what is held must be written
  for (;;) {
    if (stop) {
      // What the master holds now; bounded, as something may still be writing into the terminal.
      for (int i = 0; i < STOP_BUFFERS; i++) {
        int full = read_available();
        flush();
        if (!full) break;
      }
      return 0;
    }
    struct timespec wait;
    struct timespec *timeout = NULL;
    if (held > 0) {
      long long left = deadline - now_us();
      if (left <= 0) {
        flush();
        continue;
      }
      wait.tv_sec = left / 1000000;
      wait.tv_nsec = (left % 1000000) * 1000;
      timeout = &wait;
    }
    struct pollfd fds[2] = {{.fd = MASTER, .events = POLLIN}, {.fd = 1, .events = 0}};
    int n = ppoll(fds, 2, timeout, &waiting);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    // The agent's end is closed: nobody reads any more.
    if (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL)) return 1;
    if (fds[0].revents & POLLNVAL) return 1;
    if (fds[0].revents == 0) continue;
    size_t before = held;
    ssize_t r = read(MASTER, buf + held, CAP - held);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r <= 0) {
      // EIO (or end of file): the slave is closed everywhere. Hand over what is held and stop.
      flush();
      return 0;
    }
    held += (size_t)r;
    if (before == 0) deadline = now_us() + gather_us;
    // A short read took all there was (an echo, a prompt, the end of a burst): written at once. A full
    // read means the program is streaming and more is on its way: gathered until the deadline or a full
    // buffer.
    if ((size_t)r < FULL_READ || CAP - held < READ_ROOM) flush();
  }
}
