/*
 * An exclusive, non-blocking lock on an open file that the kernel releases when the holder
 * closes the file or dies.
 *
 * Unix: flock(LOCK_EX | LOCK_NB). The lock belongs to the open file description, so a second
 * open() of the same file conflicts even inside the same process, and fcntl() locks taken by
 * other code (SQLite) neither interfere with it nor get dropped by it.
 *
 * Windows: LockFileEx(LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY) on one byte far past
 * any real end of file. Windows byte-range locks are mandatory; locking a byte no one reads keeps
 * readers of the file unaffected. The lock belongs to the handle.
 */
#include <uv.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
/* uv.h has included <windows.h>. Byte 0x7FFFFFFF00000000 of the file. */
#define LOCK_OFFSET_LOW 0x00000000u
#define LOCK_OFFSET_HIGH 0x7FFFFFFFu
#else
#include <errno.h>
#include <sys/file.h>
#endif

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

/* Throws an Error shaped like Node's fs errors: message, code ("EBADF"), errno, syscall. */
static napi_value throw_system_error(napi_env env, int sys_errno, const char *syscall) {
  int err = uv_translate_sys_error(sys_errno);
  char message[256];
  snprintf(message, sizeof message, "%s: %s, %s", uv_err_name(err), uv_strerror(err), syscall);
  napi_value code, msg, error, errno_value, syscall_value;
  CHECK(napi_create_string_utf8(env, uv_err_name(err), NAPI_AUTO_LENGTH, &code));
  CHECK(napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg));
  CHECK(napi_create_error(env, code, msg, &error));
  CHECK(napi_create_int32(env, err, &errno_value));
  CHECK(napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value));
  CHECK(napi_set_named_property(env, error, "errno", errno_value));
  CHECK(napi_set_named_property(env, error, "syscall", syscall_value));
  napi_throw(env, error);
  return NULL;
}

/* Reads the one argument, a file descriptor. Returns 0 and throws a TypeError when it is not one. */
static int fd_argument(napi_env env, napi_callback_info info, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc >= 1 && napi_typeof(env, argv[0], &type) != napi_ok) return 0;
  if (argc < 1 || type != napi_number || napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "the argument must be a file descriptor");
    return 0;
  }
  return 1;
}

#ifdef _WIN32
static HANDLE handle_of(napi_env env, int32_t fd) {
  HANDLE h = (HANDLE)uv_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) throw_system_error(env, ERROR_INVALID_HANDLE, "uv_get_osfhandle");
  return h;
}
#endif

/* tryLock(fd): true when this descriptor now holds the lock, false when another one holds it. */
static napi_value try_lock(napi_env env, napi_callback_info info) {
  int32_t fd;
  napi_value result;
  if (!fd_argument(env, info, &fd)) return NULL;
#ifdef _WIN32
  HANDLE h = handle_of(env, fd);
  if (h == INVALID_HANDLE_VALUE) return NULL;
  OVERLAPPED at;
  memset(&at, 0, sizeof at);
  at.Offset = LOCK_OFFSET_LOW;
  at.OffsetHigh = LOCK_OFFSET_HIGH;
  int held = 1;
  if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &at)) {
    DWORD e = GetLastError();
    if (e != ERROR_LOCK_VIOLATION) return throw_system_error(env, (int)e, "LockFileEx");
    held = 0;
  }
#else
  int r;
  do r = flock(fd, LOCK_EX | LOCK_NB);
  while (r == -1 && errno == EINTR);
  int held = 1;
  if (r == -1) {
    if (errno != EWOULDBLOCK && errno != EAGAIN) return throw_system_error(env, errno, "flock");
    held = 0;
  }
#endif
  CHECK(napi_get_boolean(env, held, &result));
  return result;
}

/* unlock(fd): releases the lock this descriptor holds; does nothing when it holds none. */
static napi_value unlock(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, &fd)) return NULL;
#ifdef _WIN32
  HANDLE h = handle_of(env, fd);
  if (h == INVALID_HANDLE_VALUE) return NULL;
  OVERLAPPED at;
  memset(&at, 0, sizeof at);
  at.Offset = LOCK_OFFSET_LOW;
  at.OffsetHigh = LOCK_OFFSET_HIGH;
  if (!UnlockFileEx(h, 0, 1, 0, &at)) {
    DWORD e = GetLastError();
    if (e != ERROR_NOT_LOCKED) return throw_system_error(env, (int)e, "UnlockFileEx");
  }
#else
  int r;
  do r = flock(fd, LOCK_UN);
  while (r == -1 && errno == EINTR);
  if (r == -1) return throw_system_error(env, errno, "flock");
#endif
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
    {"tryLock", NULL, try_lock, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unlock", NULL, unlock, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
