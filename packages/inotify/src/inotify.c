// A deliberately small inotify binding: one inotify instance per object, its
// descriptor polled on the Node.js event loop, raw kernel event records handed
// to JavaScript as one Buffer per wake-up. All interpretation (paths, moves,
// overflow, debouncing) lives in JavaScript; this file only does what JS cannot:
// the three system calls and the poll.

#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <uv.h>

// One wake-up reads at most this much; the kernel's default queue
// (16384 events of a few dozen bytes) fits well below it.
#define MAX_BATCH (8 * 1024 * 1024)
#define READ_CHUNK (256 * 1024)

typedef struct {
  int fd;
  int closed;
  uv_poll_t *poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async_context;
} Instance;

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, NULL, "N-API call failed: " #call);                                    \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

// Throws an Error whose `code` is the errno name (ENOSPC, EMFILE, ...) and
// whose `errno` is the number, like Node's own system errors.
static void throw_errno(napi_env env, const char *syscall, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", syscall, strerror(err));
  napi_value msg, code, error, num, sys;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
}

static void free_poll(uv_handle_t *handle) { free(handle); }

static void instance_close(Instance *in) {
  if (in->closed) return;
  in->closed = 1;
  uv_poll_stop(in->poll);
  in->poll->data = NULL;
  uv_close((uv_handle_t *)in->poll, free_poll);
  close(in->fd);
  in->fd = -1;
  napi_delete_reference(in->env, in->callback);
  in->callback = NULL;
  napi_async_destroy(in->env, in->async_context);
  in->async_context = NULL;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  Instance *in = handle->data;
  if (in == NULL || in->closed || status < 0) return;
  napi_env env = in->env;

  // Drain the descriptor: a read returns whole events only.
  size_t cap = READ_CHUNK, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) return;
  for (;;) {
    if (cap - len < READ_CHUNK / 2) {
      if (cap >= MAX_BATCH) break;
      char *grown = realloc(buf, cap * 2);
      if (grown == NULL) break;
      buf = grown;
      cap *= 2;
    }
    ssize_t n = read(in->fd, buf + len, cap - len);
    if (n > 0) {
      len += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EAGAIN: drained
  }
  if (len == 0) {
    free(buf);
    return;
  }

  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    free(buf);
    return;
  }
  napi_value data, callback, recv, result;
  void *copy;
  if (napi_create_buffer_copy(env, len, buf, &copy, &data) == napi_ok &&
      napi_get_reference_value(env, in->callback, &callback) == napi_ok &&
      napi_get_global(env, &recv) == napi_ok) {
    napi_status st = napi_make_callback(env, in->async_context, recv, callback, 1, &data, &result);
    if (st == napi_pending_exception) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
  free(buf);
  napi_close_handle_scope(env, scope);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Instance *in = data;
  instance_close(in);
  free(in);
}

// new Inotify(onData: (events: Buffer) => void)
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype type = napi_undefined;
  if (argc >= 1) CHECK(napi_typeof(env, argv[0], &type));
  if (type != napi_function) {
    napi_throw_type_error(env, NULL, "Inotify needs a callback function");
    return NULL;
  }

  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, "inotify_init1", errno);
    return NULL;
  }
  Instance *in = calloc(1, sizeof *in);
  uv_poll_t *poll = calloc(1, sizeof *poll);
  struct uv_loop_s *loop = NULL;
  if (in == NULL || poll == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok ||
      uv_poll_init(loop, poll, fd) != 0) {
    close(fd);
    free(in);
    free(poll);
    napi_throw_error(env, NULL, "cannot set up the inotify poll");
    return NULL;
  }
  in->fd = fd;
  in->env = env;
  in->poll = poll;
  poll->data = in;
  napi_value name;
  CHECK(napi_create_string_utf8(env, "CoveInotify", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, self, name, &in->async_context));
  CHECK(napi_create_reference(env, argv[0], 1, &in->callback));
  uv_poll_start(poll, UV_READABLE, on_readable);
  // A watcher alone never keeps the process alive.
  uv_unref((uv_handle_t *)poll);
  CHECK(napi_wrap(env, self, in, finalize, NULL, NULL));
  return self;
}

static Instance *unwrap(napi_env env, napi_value self) {
  Instance *in = NULL;
  if (napi_unwrap(env, self, (void **)&in) != napi_ok || in == NULL) {
    napi_throw_error(env, NULL, "not an Inotify object");
    return NULL;
  }
  if (in->closed) {
    napi_throw_error(env, "ERR_CLOSED", "inotify instance is closed");
    return NULL;
  }
  return in;
}

// addWatch(path: string, mask: number): number (the watch descriptor)
static napi_value add_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  Instance *in = unwrap(env, self);
  if (in == NULL) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "addWatch(path, mask)");
    return NULL;
  }
  size_t length = 0;
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "path must be a string");
    return NULL;
  }
  char *path = malloc(length + 1);
  if (path == NULL) return NULL;
  CHECK(napi_get_value_string_utf8(env, argv[0], path, length + 1, &length));
  if (strlen(path) != length) {  // an embedded NUL would watch another path
    free(path);
    napi_throw_type_error(env, NULL, "path must not contain NUL bytes");
    return NULL;
  }
  uint32_t mask = 0;
  if (napi_get_value_uint32(env, argv[1], &mask) != napi_ok) {
    free(path);
    napi_throw_type_error(env, NULL, "mask must be a number");
    return NULL;
  }
  int wd = inotify_add_watch(in->fd, path, mask);
  int err = errno;
  free(path);
  if (wd < 0) {
    throw_errno(env, "inotify_add_watch", err);
    return NULL;
  }
  napi_value result;
  CHECK(napi_create_int32(env, wd, &result));
  return result;
}

// rmWatch(wd: number): boolean (false when the watch was already gone)
static napi_value rm_watch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  Instance *in = unwrap(env, self);
  if (in == NULL) return NULL;
  int32_t wd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &wd) != napi_ok) {
    napi_throw_type_error(env, NULL, "rmWatch(wd)");
    return NULL;
  }
  napi_value result;
  CHECK(napi_get_boolean(env, inotify_rm_watch(in->fd, wd) == 0, &result));
  return result;
}

// close(): releases the descriptor; later calls are no-ops.
static napi_value close_instance(napi_env env, napi_callback_info info) {
  napi_value self;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  Instance *in = NULL;
  if (napi_unwrap(env, self, (void **)&in) == napi_ok && in != NULL) instance_close(in);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"addWatch", NULL, add_watch, NULL, NULL, NULL, napi_default, NULL},
      {"rmWatch", NULL, rm_watch, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_instance, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "Inotify", NAPI_AUTO_LENGTH, construct, NULL, 3, methods, &cls));
  CHECK(napi_set_named_property(env, exports, "Inotify", cls));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
