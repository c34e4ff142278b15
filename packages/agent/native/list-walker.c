// list-walker: the directory walk of a plain flat `GET /files` (nested, light, no filter), in C.
//
//   list-walker <root> <max-depth> <cap> <gitignore 0|1>
//
// Walks <root> depth first in path (byte) order — a directory's contents sort as its name plus '/' — and
// writes the listing's entries exactly as the agent's JavaScript writes them (packages/agent/src/listing/
// flat-listing.ts): `{"name":…,"path":…,"type":…}` joined by commas, then a NUL byte and
// `<count> <truncated 0|1>`. The profile of the JavaScript walk (bench/results/files-list.md) showed that
// readdir's C library and V8 overhead (scandir's malloc per entry and qsort, a string and a Dirent object per
// name) and building the JSON text cost twice what the kernel's getdents64 does; here each directory is one
// getdents64 loop into a reused buffer and the text is written as the walk goes.
//
// What it leaves to JavaScript it hands back one directory at a time, so the answer streams as the walk goes:
// a directory holding a `.gitignore` file when <gitignore> is 1 (its rules are JavaScript's business), a name
// that is not valid UTF-8 (JavaScript decodes it with replacement characters) or an entry whose type cannot be
// learnt. For such a directory D (its own entry already written) the walker writes
// `NUL D <level of D> SP <count> SP <path of D> NUL` and waits on its standard input for a line: the count
// after the agent wrote D's contents, or `stop` (the cap was reached: the agent ends the answer). At the end
// it writes `NUL E <count> SP <truncated 0|1>`. When the root itself is such a directory it exits with status 3
// having written nothing (the agent walks it all); status 2: the root cannot be read.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXIT_FALLBACK 3
#define EXIT_ROOT 2
/** Bytes of text gathered before a write. */
#define CHUNK (64 * 1024)

static char out[CHUNK];
static size_t out_len;
static long count, cap;
static int max_depth, gitignore, truncated, stopped;

static void die(int status) { _exit(status); }

static void write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die(1); /* the agent is gone */
    }
    p += w;
    n -= (size_t)w;
  }
}

static void flush(void) {
  write_all(out, out_len);
  out_len = 0;
}

static void put(const char *s, size_t n) {
  if (out_len + n > CHUNK) {
    flush();
    if (n > CHUNK) {
      write_all(s, n);
      return;
    }
  }
  memcpy(out + out_len, s, n);
  out_len += n;
}

/** Writes `s` into `dst` as JSON.stringify writes a string's inside (`"`, `\\` and control characters escaped). */
static size_t json_into(char *dst, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') {
      dst[k++] = (char)c;
      continue;
    }
    dst[k++] = '\\';
    switch (c) {
      case '"': dst[k++] = '"'; break;
      case '\\': dst[k++] = '\\'; break;
      case '\b': dst[k++] = 'b'; break;
      case '\f': dst[k++] = 'f'; break;
      case '\n': dst[k++] = 'n'; break;
      case '\r': dst[k++] = 'r'; break;
      case '\t': dst[k++] = 't'; break;
      default:
        dst[k++] = 'u', dst[k++] = '0', dst[k++] = '0', dst[k++] = hex[c >> 4], dst[k++] = hex[c & 15];
    }
  }
  return k;
}

/**
 * Hands directory `path` (whose entry is at `level`) to the agent and waits for the count after its contents.
 * A `stop` answer (or none: the agent is gone) ends the walk here.
 */
static void hand_back(const char *path, size_t path_len, int level) {
  flush();
  char head[64];
  int k = snprintf(head, sizeof head, "%cD%d %ld ", 0, level, count);
  write_all(head, (size_t)k);
  write_all(path, path_len);
  write_all("", 1);
  char line[32];
  size_t got = 0;
  while (got < sizeof line - 1) {
    ssize_t r = read(0, line + got, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die(0);
    if (line[got] == '\n') break;
    got++;
  }
  line[got] = 0;
  if (line[0] < '0' || line[0] > '9') die(0);
  count = atol(line);
}

/** Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF): what decodes without U+FFFD. */
static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += len;
  }
  return 1;
}

/** One entry of a directory; `contents` marks the place of an explored directory's contents (key name + '/'). */
struct item {
  const char *key;
  unsigned short len;
  unsigned char type; /* DT_* */
  unsigned char contents;
};

static int by_key(const void *a, const void *b) {
  return strcmp(((const struct item *)a)->key, ((const struct item *)b)->key);
}

static const char *type_name(unsigned char t) {
  return t == DT_DIR ? "directory" : t == DT_LNK ? "symlink" : "file";
}

static int is_virtual(const char *path) {
  return !strcmp(path, "/proc") || !strcmp(path, "/sys") || !strcmp(path, "/dev");
}

/** Frees what a directory's read gathered (it is handed back or could not be read). */
#define DROP()   \
  do {           \
    close(fd);   \
    free(items); \
    free(names); \
  } while (0)

/**
 * Lists directory `path` (`path_len` bytes, in a PATH_MAX buffer it may extend) whose entries are at `level`
 * (the root's are at 1). Returns -1 if it cannot be read (its entry stays, without contents), 1 if the root
 * must be handed back whole.
 */
static int walk(char *path, size_t path_len, int level) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -1;
  char buf[32 * 1024];
  size_t n = 0, n_cap = 64, names_len = 0, names_cap = 4096;
  struct item *items = malloc(n_cap * sizeof *items);
  char *names = malloc(names_cap);
  if (!items || !names) die(1);
  int explore_children = level < max_depth;
  for (;;) {
    long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (got == 0) break;
    if (got < 0) {
      DROP();
      return -1;
    }
    for (long off = 0; off < got;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      off += d->d_reclen;
      const char *name = d->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      size_t len = strlen(name);
      unsigned char type = d->d_type;
      int leave = !valid_utf8((const unsigned char *)name, len);
      if (!leave && type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) leave = 1;
        else type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
      }
      if (!leave && gitignore) {
        if (type == DT_DIR && !strcmp(name, ".git")) continue;
        if (type != DT_DIR && !strcmp(name, ".gitignore")) leave = 1;
      }
      if (leave) {
        DROP();
        if (level == 1) return 1;
        hand_back(path, path_len, level - 1);
        return 0;
      }
      int explore = type == DT_DIR && explore_children;
      // The name, and for an explored directory its contents' key (name + '/'), kept as offsets until the end.
      size_t need = len + 1 + (explore ? len + 2 : 0);
      if (names_len + need > names_cap) {
        while (names_len + need > names_cap) names_cap *= 2;
        names = realloc(names, names_cap);
        if (!names) die(1);
      }
      if (n + 2 > n_cap) {
        n_cap *= 2;
        items = realloc(items, n_cap * sizeof *items);
        if (!items) die(1);
      }
      memcpy(names + names_len, name, len + 1);
      items[n++] = (struct item){(const char *)(uintptr_t)names_len, (unsigned short)len, type, 0};
      names_len += len + 1;
      if (explore) {
        memcpy(names + names_len, name, len);
        names[names_len + len] = '/';
        names[names_len + len + 1] = 0;
        items[n++] = (struct item){(const char *)(uintptr_t)names_len, (unsigned short)len, type, 1};
        names_len += len + 2;
      }
    }
  }
  close(fd);
  for (size_t i = 0; i < n; i++) items[i].key = names + (uintptr_t)items[i].key;
  qsort(items, n, sizeof *items, by_key);
  // This directory's path as JSON text, once ('' for '/': paths are written as prefix + '/' + name).
  int is_slash = path_len == 1 && path[0] == '/';
  char *prefix = malloc(6 * path_len + 1);
  if (!prefix) die(1);
  size_t prefix_len = is_slash ? 0 : json_into(prefix, path, path_len);
  static char name_json[6 * 256];
  for (size_t i = 0; i < n && !stopped; i++) {
    const struct item *it = &items[i];
    if (it->contents) {
      if (path_len + 1 + it->len >= PATH_MAX) continue;
      size_t child_len = path_len;
      if (!is_slash) path[child_len++] = '/';
      memcpy(path + child_len, it->key, it->len);
      child_len += it->len;
      path[child_len] = 0;
      if (!is_virtual(path)) walk(path, child_len, level + 1);
      path[path_len] = 0;
      continue;
    }
    if (count >= cap) {
      truncated = 1;
      stopped = 1;
      break;
    }
    size_t name_len = json_into(name_json, it->key, it->len);
    put(count == 0 ? "{\"name\":\"" : ",{\"name\":\"", count == 0 ? 9 : 10);
    put(name_json, name_len);
    put("\",\"path\":\"", 10);
    put(prefix, prefix_len);
    put("/", 1);
    put(name_json, name_len);
    put("\",\"type\":\"", 10);
    const char *t = type_name(it->type);
    put(t, strlen(t));
    put("\"}", 2);
    count++;
  }
  free(prefix);
  free(items);
  free(names);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: list-walker <root> <max-depth> <cap> <gitignore 0|1>\n");
    return 64;
  }
  static char path[PATH_MAX + 1];
  size_t len = strlen(argv[1]);
  if (len == 0 || len >= PATH_MAX) return EXIT_FALLBACK;
  memcpy(path, argv[1], len + 1);
  max_depth = atoi(argv[2]);
  cap = atol(argv[3]);
  gitignore = argv[4][0] == '1';
  if (!valid_utf8((const unsigned char *)path, len)) return EXIT_FALLBACK;
  int root = walk(path, len, 1);
  if (root < 0) return EXIT_ROOT;
  if (root > 0) return EXIT_FALLBACK;
  char tail[48];
  int k = snprintf(tail, sizeof tail, "%cE%ld %d", 0, count, truncated);
  put(tail, (size_t)k);
  flush();
  return 0;
}
