/*
 * cartridge_vfs: a SQLite VFS whose files live inside Cartridge containers.
 *
 * One shared library that is both a Node-API addon (the TypeScript backend registers its
 * callbacks through it) and a SQLite loadable extension (loaded into better-sqlite3's own SQLite
 * with db.loadExtension(), it registers the VFS as the default and passes every file that is not
 * ours through to the VFS it replaced). Everything about containers stays in TypeScript; this
 * file only does what must be native: dispatch by file name, file handles, lock levels between
 * connections of one process, WAL shared memory in process memory, and the guards that keep
 * JavaScript from being called where it must not be (other threads, garbage collection,
 * shutdown).
 *
 * File names of ours contain MARKER ("/.cartridge-vfs:"); the backend encodes the container and
 * the path after it.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#define MARKER "/.cartridge-vfs:"
#define BUF_SIZE (1 << 17)

/* Backend callbacks, in the order of the names below. */
enum { CB_OPEN, CB_READ, CB_WRITE, CB_TRUNCATE, CB_SYNC, CB_SIZE, CB_ACCESS, CB_DELETE, CB_COUNT };
static const char *const CB_NAMES[CB_COUNT] = {"open", "read", "write", "truncate", "sync", "size", "access", "delete"};

/* File kinds returned by the backend's open (low two bits of its result). KIND_MAIN_ATOMIC_ALONE
 * is an atomic-mode database with no journal or WAL file beside it: none can appear while it is
 * open (the journal mode is enforced), so SQLite's checks for them are answered here. */
enum { KIND_OTHER = 0, KIND_MAIN_ATOMIC = 1, KIND_MAIN_WAL = 2, KIND_MAIN_ATOMIC_ALONE = 3 };

static napi_env g_env = NULL;
static napi_ref g_backend = NULL;
/* The backend's methods, by callback index (looked up once, in register). */
static napi_ref g_fns[CB_COUNT];
static napi_ref g_buffer_ref = NULL;
static unsigned char *g_buf = NULL;
static pthread_t g_main_thread;
static int g_js_enabled = 0;
static int g_vfs_registered = 0;
static sqlite3_vfs *g_orig = NULL;

/* Handles whose SQLite file was closed; handed to the backend by takeClosed() (closing never
 * calls into JavaScript, because a connection may be closed from a garbage-collection pass). */
static double *g_closed = NULL;
static size_t g_closed_len = 0, g_closed_cap = 0;

/* Queues handle `h` for takeClosed(), growing the queue as needed (dropped only when out of memory). */
static void queue_closed(double h) {
  if (g_closed_len == g_closed_cap) {
    size_t cap = g_closed_cap ? g_closed_cap * 2 : 16;
    double *next = realloc(g_closed, cap * sizeof(double));
    if (next) {
      g_closed = next;
      g_closed_cap = cap;
    }
  }
  if (g_closed_len < g_closed_cap) g_closed[g_closed_len++] = h;
}

/* ---- state shared by the connections to one file -------------------------------------- */

#define SHM_SLOTS SQLITE_SHM_NLOCK

typedef struct CartFile CartFile;

typedef struct Shared {
  struct Shared *next;
  char *name;
  int refs;
  /* connections that opened it as KIND_MAIN_ATOMIC_ALONE */
  int alone;
  /* lock levels (rollback-journal locking) */
  int n_shared;
  CartFile *writer; /* holder of RESERVED, PENDING or EXCLUSIVE */
  /* WAL shared memory */
  int shm_refs;
  int n_region;
  int region_size;
  void **regions;
  int shm_shared[SHM_SLOTS];
  CartFile *shm_excl[SHM_SLOTS];
} Shared;

struct CartFile {
  sqlite3_file base;
  double handle;
  int kind;
  int lock;
  Shared *shared;
  unsigned shm_shared_mask;
  unsigned shm_excl_mask;
  int shm_mapped;
};

static Shared *g_shared = NULL;
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;

static Shared *shared_acquire(const char *name) {
  pthread_mutex_lock(&g_mutex);
  Shared *s = g_shared;
  while (s && strcmp(s->name, name) != 0) s = s->next;
  if (!s) {
    s = calloc(1, sizeof(Shared));
    if (s) {
      s->name = strdup(name);
      if (!s->name) {
        free(s);
        s = NULL;
      } else {
        s->next = g_shared;
        g_shared = s;
      }
    }
  }
  if (s) s->refs++;
  pthread_mutex_unlock(&g_mutex);
  return s;
}

static void shm_free(Shared *s) {
  for (int i = 0; i < s->n_region; i++) free(s->regions[i]);
  free(s->regions);
  s->regions = NULL;
  s->n_region = 0;
}

static void shared_release(Shared *s) {
  pthread_mutex_lock(&g_mutex);
  if (--s->refs == 0) {
    Shared **pp = &g_shared;
    while (*pp && *pp != s) pp = &(*pp)->next;
    if (*pp) *pp = s->next;
    shm_free(s);
    free(s->name);
    free(s);
  }
  pthread_mutex_unlock(&g_mutex);
}

/* ---- calling the backend ---------------------------------------------------------------- */

static int is_ours(const char *name) { return name != NULL && strstr(name, MARKER) != NULL; }

/* JavaScript may be called: on the thread that registered the backend, while enabled. */
static int js_ok(void) { return g_js_enabled && g_backend != NULL && pthread_equal(pthread_self(), g_main_thread); }

/*
 * Calls backend method `cb` with up to three arguments (numbers, or a string when `str` is set,
 * which then comes first). Returns 0 and the numeric result in *out, or -1 when the call failed
 * (exception, not callable now); a thrown exception is cleared.
 */
static int call_backend(int cb, const char *str, int argc, const double *args, double *out) {
  if (!js_ok()) return -1;
  napi_env env = g_env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return -1;
  int rc = -1;
  napi_value backend, fn, result, argv[4];
  int n = 0;
  if (napi_get_reference_value(env, g_backend, &backend) != napi_ok || backend == NULL) goto done;
  if (napi_get_reference_value(env, g_fns[cb], &fn) != napi_ok || fn == NULL) goto done;
  if (str) {
    if (napi_create_string_utf8(env, str, NAPI_AUTO_LENGTH, &argv[n++]) != napi_ok) goto done;
  }
  for (int i = 0; i < argc; i++) {
    if (napi_create_double(env, args[i], &argv[n++]) != napi_ok) goto done;
  }
  if (napi_call_function(env, backend, fn, (size_t)n, argv, &result) != napi_ok) goto done;
  if (napi_get_value_double(env, result, out) != napi_ok) goto done;
  rc = 0;
done:
  if (rc != 0) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
  }
  napi_close_handle_scope(env, scope);
  return rc;
}

/* Backend results: >= 0 success, < 0 the negated SQLite error code. `r` is read only after the
 * call has stored it (a function's arguments are evaluated in no fixed order). */
static int call_result(int called, const double *r, int fallback) {
  if (called != 0) return fallback;
  if (*r < 0) return (int)-*r;
  return SQLITE_OK;
}

/* ---- file methods ----------------------------------------------------------------------- */

static int cf_shm_unmap(sqlite3_file *pf, int delete_flag);

static int cf_close(sqlite3_file *pf) {
  CartFile *f = (CartFile *)pf;
  Shared *s = f->shared;
  if (s) {
    if (f->kind == KIND_MAIN_ATOMIC_ALONE) s->alone--;
    if (f->lock > SQLITE_LOCK_NONE) {
      if (s->writer == f) s->writer = NULL;
      s->n_shared--;
      f->lock = SQLITE_LOCK_NONE;
    }
    cf_shm_unmap(pf, 0);
    shared_release(s);
    f->shared = NULL;
  }
  queue_closed(f->handle);
  return SQLITE_OK;
}

static int cf_read(sqlite3_file *pf, void *out, int amt, sqlite3_int64 off) {
  CartFile *f = (CartFile *)pf;
  unsigned char *dst = out;
  while (amt > 0) {
    int piece = amt < BUF_SIZE ? amt : BUF_SIZE;
    double args[3] = {f->handle, (double)off, (double)piece}, r = 0;
    int called = call_backend(CB_READ, NULL, 3, args, &r);
    if (called != 0) return SQLITE_IOERR_READ;
    if (r < 0) return (int)-r;
    int got = (int)r;
    if (got > piece) got = piece;
    memcpy(dst, g_buf, (size_t)got);
    if (got < piece) {
      memset(dst + got, 0, (size_t)(amt - got));
      return SQLITE_IOERR_SHORT_READ;
    }
    dst += piece;
    off += piece;
    amt -= piece;
  }
  return SQLITE_OK;
}

static int cf_write(sqlite3_file *pf, const void *in, int amt, sqlite3_int64 off) {
  CartFile *f = (CartFile *)pf;
  const unsigned char *src = in;
  while (amt > 0) {
    int piece = amt < BUF_SIZE ? amt : BUF_SIZE;
    if (!js_ok()) return SQLITE_IOERR_WRITE;
    memcpy(g_buf, src, (size_t)piece);
    double args[3] = {f->handle, (double)off, (double)piece}, r = 0;
    int rc = call_result(call_backend(CB_WRITE, NULL, 3, args, &r), &r, SQLITE_IOERR_WRITE);
    if (rc != SQLITE_OK) return rc;
    src += piece;
    off += piece;
    amt -= piece;
  }
  return SQLITE_OK;
}

static int cf_truncate(sqlite3_file *pf, sqlite3_int64 size) {
  CartFile *f = (CartFile *)pf;
  double args[2] = {f->handle, (double)size}, r = 0;
  return call_result(call_backend(CB_TRUNCATE, NULL, 2, args, &r), &r, SQLITE_IOERR_TRUNCATE);
}

/* durable: 1 for SQLite's xSync, 0 when a write transaction ended (commit without fsync). */
static int backend_sync(CartFile *f, int durable) {
  double args[2] = {f->handle, (double)durable}, r = 0;
  return call_result(call_backend(CB_SYNC, NULL, 2, args, &r), &r, SQLITE_IOERR_FSYNC);
}

static int cf_sync(sqlite3_file *pf, int flags) {
  (void)flags;
  return backend_sync((CartFile *)pf, 1);
}

static int cf_file_size(sqlite3_file *pf, sqlite3_int64 *size) {
  CartFile *f = (CartFile *)pf;
  double args[1] = {f->handle}, r = 0;
  int rc = call_result(call_backend(CB_SIZE, NULL, 1, args, &r), &r, SQLITE_IOERR_FSTAT);
  if (rc == SQLITE_OK) *size = (sqlite3_int64)r;
  return rc;
}

static int cf_lock(sqlite3_file *pf, int level) {
  CartFile *f = (CartFile *)pf;
  Shared *s = f->shared;
  if (f->lock >= level) return SQLITE_OK;
  if (level == SQLITE_LOCK_SHARED) {
    if (s->writer && s->writer != f && s->writer->lock >= SQLITE_LOCK_PENDING) return SQLITE_BUSY;
    s->n_shared++;
    f->lock = SQLITE_LOCK_SHARED;
    return SQLITE_OK;
  }
  if (f->lock < SQLITE_LOCK_SHARED) return SQLITE_MISUSE;
  if (s->writer && s->writer != f) return SQLITE_BUSY;
  s->writer = f;
  if (level == SQLITE_LOCK_RESERVED) {
    f->lock = SQLITE_LOCK_RESERVED;
    return SQLITE_OK;
  }
  /* EXCLUSIVE: go through PENDING (no new readers) until the other readers are gone. */
  if (s->n_shared > 1) {
    f->lock = SQLITE_LOCK_PENDING;
    return SQLITE_BUSY;
  }
  f->lock = SQLITE_LOCK_EXCLUSIVE;
  return SQLITE_OK;
}

static int cf_unlock_to(CartFile *f, int level) {
  Shared *s = f->shared;
  int was = f->lock;
  if (was <= level) return SQLITE_OK;
  if (was > SQLITE_LOCK_SHARED && s->writer == f) s->writer = NULL;
  if (level == SQLITE_LOCK_NONE) s->n_shared--;
  f->lock = level;
  /* A write transaction ended: what it wrote reaches the container (one commit, no fsync),
   * so that a killed process keeps it, as a plain file in the page cache would. */
  if (was >= SQLITE_LOCK_RESERVED && f->kind != KIND_OTHER && js_ok()) backend_sync(f, 0);
  return SQLITE_OK;
}

static int cf_unlock(sqlite3_file *pf, int level) { return cf_unlock_to((CartFile *)pf, level); }

static int cf_check_reserved(sqlite3_file *pf, int *out) {
  CartFile *f = (CartFile *)pf;
  *out = f->shared->writer != NULL;
  return SQLITE_OK;
}

static int cf_file_control(sqlite3_file *pf, int op, void *arg) {
  CartFile *f = (CartFile *)pf;
  if (op == SQLITE_FCNTL_PRAGMA && f->kind != KIND_OTHER) {
    char **a = arg;
    if (a[1] && a[2] && strcasecmp(a[1], "journal_mode") == 0) {
      const char *want = f->kind == KIND_MAIN_WAL ? "wal" : "memory";
      if (strcasecmp(a[2], want) != 0) {
        a[0] = sqlite3_mprintf(
            "this database lives in a container in %s mode, which needs journal_mode=%s",
            f->kind == KIND_MAIN_WAL ? "wal" : "atomic", want);
        return SQLITE_ERROR;
      }
    }
    return SQLITE_NOTFOUND;
  }
  if (op == SQLITE_FCNTL_VFSNAME) {
    *(char **)arg = sqlite3_mprintf("cartridge");
    return SQLITE_OK;
  }
  return SQLITE_NOTFOUND;
}

static int cf_sector_size(sqlite3_file *pf) {
  (void)pf;
  return 4096;
}

static int cf_device_characteristics(sqlite3_file *pf) {
  (void)pf;
  /* Writes never damage bytes around them: pages are replaced copy-on-write. */
  return SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

/* ---- WAL shared memory (process memory: connections of one process share it) ------------ */

static int cf_shm_map(sqlite3_file *pf, int region, int size, int extend, void volatile **pp) {
  CartFile *f = (CartFile *)pf;
  Shared *s = f->shared;
  *pp = NULL;
  if (!f->shm_mapped) {
    f->shm_mapped = 1;
    s->shm_refs++;
  }
  if (s->region_size != 0 && s->region_size != size) return SQLITE_IOERR_SHMMAP;
  if (region >= s->n_region) {
    if (!extend) return SQLITE_OK;
    void **next = realloc(s->regions, (size_t)(region + 1) * sizeof(void *));
    if (!next) return SQLITE_IOERR_NOMEM;
    s->regions = next;
    for (int i = s->n_region; i <= region; i++) {
      s->regions[i] = calloc(1, (size_t)size);
      if (!s->regions[i]) {
        s->n_region = i;
        return SQLITE_IOERR_NOMEM;
      }
    }
    s->n_region = region + 1;
    s->region_size = size;
  }
  *pp = s->regions[region];
  return SQLITE_OK;
}

static int cf_shm_lock(sqlite3_file *pf, int offset, int n, int flags) {
  CartFile *f = (CartFile *)pf;
  Shared *s = f->shared;
  if (offset < 0 || n < 1 || offset + n > SHM_SLOTS) return SQLITE_IOERR_SHMLOCK;
  if (flags & SQLITE_SHM_UNLOCK) {
    int ended_write = 0;
    for (int i = offset; i < offset + n; i++) {
      unsigned bit = 1u << i;
      if ((flags & SQLITE_SHM_EXCLUSIVE) && (f->shm_excl_mask & bit)) {
        s->shm_excl[i] = NULL;
        f->shm_excl_mask &= ~bit;
        if (i == 0) ended_write = 1;
      }
      if ((flags & SQLITE_SHM_SHARED) && (f->shm_shared_mask & bit)) {
        s->shm_shared[i]--;
        f->shm_shared_mask &= ~bit;
      }
    }
    /* Slot 0 is WAL_WRITE_LOCK: releasing it ends a WAL write transaction. */
    if (ended_write && js_ok()) backend_sync(f, 0);
    return SQLITE_OK;
  }
  if (flags & SQLITE_SHM_SHARED) {
    for (int i = offset; i < offset + n; i++) {
      unsigned bit = 1u << i;
      if (f->shm_shared_mask & bit) continue;
      if (s->shm_excl[i] && s->shm_excl[i] != f) return SQLITE_BUSY;
    }
    for (int i = offset; i < offset + n; i++) {
      unsigned bit = 1u << i;
      if (f->shm_shared_mask & bit) continue;
      s->shm_shared[i]++;
      f->shm_shared_mask |= bit;
    }
    return SQLITE_OK;
  }
  for (int i = offset; i < offset + n; i++) {
    unsigned bit = 1u << i;
    if (s->shm_excl[i] && s->shm_excl[i] != f) return SQLITE_BUSY;
    int others = s->shm_shared[i] - ((f->shm_shared_mask & bit) ? 1 : 0);
    if (others > 0) return SQLITE_BUSY;
  }
  for (int i = offset; i < offset + n; i++) {
    s->shm_excl[i] = f;
    f->shm_excl_mask |= 1u << i;
  }
  return SQLITE_OK;
}

static void cf_shm_barrier(sqlite3_file *pf) {
  (void)pf;
  __sync_synchronize();
}

static int cf_shm_unmap(sqlite3_file *pf, int delete_flag) {
  CartFile *f = (CartFile *)pf;
  Shared *s = f->shared;
  for (int i = 0; i < SHM_SLOTS; i++) {
    if (f->shm_shared_mask & (1u << i)) s->shm_shared[i]--;
    if (f->shm_excl_mask & (1u << i)) s->shm_excl[i] = NULL;
  }
  f->shm_shared_mask = f->shm_excl_mask = 0;
  if (f->shm_mapped) {
    f->shm_mapped = 0;
    s->shm_refs--;
  }
  if (s->shm_refs == 0 && delete_flag) shm_free(s);
  return SQLITE_OK;
}

static const sqlite3_io_methods CART_IO = {
    2,
    cf_close,
    cf_read,
    cf_write,
    cf_truncate,
    cf_sync,
    cf_file_size,
    cf_lock,
    cf_unlock,
    cf_check_reserved,
    cf_file_control,
    cf_sector_size,
    cf_device_characteristics,
    cf_shm_map,
    cf_shm_lock,
    cf_shm_barrier,
    cf_shm_unmap,
    NULL,
    NULL,
};

/* ---- VFS methods: ours by name, everything else passed to the VFS we replaced ----------- */

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *pf, int flags, int *out_flags) {
  (void)vfs;
  if (!is_ours(name)) return g_orig->xOpen(g_orig, name, pf, flags, out_flags);
  CartFile *f = (CartFile *)pf;
  memset(f, 0, sizeof(*f));
  /* Not on the main thread (a worker), or the process is shutting down: a clean refusal. */
  if (!js_ok()) return SQLITE_CANTOPEN;
  double args[1] = {(double)flags}, r = 0;
  int rc = call_result(call_backend(CB_OPEN, name, 1, args, &r), &r, SQLITE_CANTOPEN);
  if (rc != SQLITE_OK) return rc;
  long long v = (long long)r;
  f->handle = (double)(v >> 2);
  f->kind = (int)(v & 3);
  f->shared = shared_acquire(name);
  if (!f->shared) {
    /* The backend holds a handle: tell it the file is closed. */
    f->base.pMethods = NULL;
    queue_closed(f->handle);
    return SQLITE_NOMEM;
  }
  if (f->kind == KIND_MAIN_ATOMIC_ALONE) f->shared->alone++;
  f->base.pMethods = &CART_IO;
  if (out_flags) *out_flags = flags;
  return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
  (void)vfs;
  if (!is_ours(name)) return g_orig->xDelete(g_orig, name, sync_dir);
  double args[1] = {(double)sync_dir}, r = 0;
  return call_result(call_backend(CB_DELETE, name, 1, args, &r), &r, SQLITE_IOERR_DELETE);
}

/* Whether `name` is the journal or WAL of a database open alone in atomic mode (so it is absent). */
static int absent_side_file(const char *name) {
  size_t len = strlen(name);
  size_t cut = 0;
  if (len > 8 && strcmp(name + len - 8, "-journal") == 0) cut = 8;
  else if (len > 4 && strcmp(name + len - 4, "-wal") == 0) cut = 4;
  if (!cut) return 0;
  int found = 0;
  pthread_mutex_lock(&g_mutex);
  for (Shared *s = g_shared; s; s = s->next) {
    if (s->alone > 0 && strlen(s->name) == len - cut && strncmp(s->name, name, len - cut) == 0) {
      found = 1;
      break;
    }
  }
  pthread_mutex_unlock(&g_mutex);
  return found;
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  (void)vfs;
  if (!is_ours(name)) return g_orig->xAccess(g_orig, name, flags, out);
  if (absent_side_file(name)) {
    *out = 0;
    return SQLITE_OK;
  }
  double args[1] = {(double)flags}, r = 0;
  int rc = call_result(call_backend(CB_ACCESS, name, 1, args, &r), &r, SQLITE_IOERR_ACCESS);
  *out = rc == SQLITE_OK && r > 0;
  return rc;
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
  (void)vfs;
  if (!is_ours(name)) return g_orig->xFullPathname(g_orig, name, n, out);
  size_t len = strlen(name);
  if ((int)len >= n) return SQLITE_CANTOPEN;
  memcpy(out, name, len + 1);
  return SQLITE_OK;
}

static void *vfs_dl_open(sqlite3_vfs *v, const char *p) { (void)v; return g_orig->xDlOpen(g_orig, p); }
static void vfs_dl_error(sqlite3_vfs *v, int n, char *m) { (void)v; g_orig->xDlError(g_orig, n, m); }
static void (*vfs_dl_sym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; return g_orig->xDlSym(g_orig, h, s); }
static void vfs_dl_close(sqlite3_vfs *v, void *h) { (void)v; g_orig->xDlClose(g_orig, h); }
static int vfs_randomness(sqlite3_vfs *v, int n, char *out) { (void)v; return g_orig->xRandomness(g_orig, n, out); }
static int vfs_sleep(sqlite3_vfs *v, int us) { (void)v; return g_orig->xSleep(g_orig, us); }
static int vfs_current_time(sqlite3_vfs *v, double *t) { (void)v; return g_orig->xCurrentTime(g_orig, t); }
static int vfs_get_last_error(sqlite3_vfs *v, int n, char *m) {
  (void)v;
  return g_orig->xGetLastError ? g_orig->xGetLastError(g_orig, n, m) : 0;
}
static int vfs_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *t) {
  (void)v;
  if (g_orig->iVersion >= 2 && g_orig->xCurrentTimeInt64) return g_orig->xCurrentTimeInt64(g_orig, t);
  double d;
  int rc = g_orig->xCurrentTime(g_orig, &d);
  *t = (sqlite3_int64)(d * 86400000.0);
  return rc;
}
static int vfs_set_system_call(sqlite3_vfs *v, const char *n, sqlite3_syscall_ptr p) {
  (void)v;
  return g_orig->iVersion >= 3 && g_orig->xSetSystemCall ? g_orig->xSetSystemCall(g_orig, n, p) : SQLITE_NOTFOUND;
}
static sqlite3_syscall_ptr vfs_get_system_call(sqlite3_vfs *v, const char *n) {
  (void)v;
  return g_orig->iVersion >= 3 && g_orig->xGetSystemCall ? g_orig->xGetSystemCall(g_orig, n) : NULL;
}
static const char *vfs_next_system_call(sqlite3_vfs *v, const char *n) {
  (void)v;
  return g_orig->iVersion >= 3 && g_orig->xNextSystemCall ? g_orig->xNextSystemCall(g_orig, n) : NULL;
}

static sqlite3_vfs g_vfs = {
    3, 0, 0, NULL, "cartridge", NULL,
    vfs_open, vfs_delete, vfs_access, vfs_full_pathname,
    vfs_dl_open, vfs_dl_error, vfs_dl_sym, vfs_dl_close,
    vfs_randomness, vfs_sleep, vfs_current_time, vfs_get_last_error,
    vfs_current_time_int64,
    vfs_set_system_call, vfs_get_system_call, vfs_next_system_call,
};

#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
int sqlite3_cartridgevfs_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  (void)db;
  (void)err;
  SQLITE_EXTENSION_INIT2(api);
  pthread_mutex_lock(&g_mutex);
  int rc = SQLITE_OK;
  if (!g_vfs_registered) {
    sqlite3_vfs *dflt = sqlite3_vfs_find(NULL);
    if (!dflt) {
      rc = SQLITE_ERROR;
    } else {
      g_orig = dflt;
      int own = (int)sizeof(CartFile);
      g_vfs.szOsFile = dflt->szOsFile > own ? dflt->szOsFile : own;
      g_vfs.mxPathname = dflt->mxPathname > 1024 ? dflt->mxPathname : 1024;
      rc = sqlite3_vfs_register(&g_vfs, 1);
      if (rc == SQLITE_OK) g_vfs_registered = 1;
    }
  }
  pthread_mutex_unlock(&g_mutex);
  return rc == SQLITE_OK ? SQLITE_OK_LOAD_PERMANENTLY : rc;
}

/* ---- Node-API side ---------------------------------------------------------------------- */

/* The environment that registered the backend is going away (worker exit, process shutdown):
 * no more calls into JavaScript, and another environment may register later. */
static void on_env_cleanup(void *arg) {
  napi_env env = arg;
  if (env != g_env) return;
  g_js_enabled = 0;
  g_backend = NULL;
  for (int i = 0; i < CB_COUNT; i++) g_fns[i] = NULL;
  g_buffer_ref = NULL;
  g_buf = NULL;
  g_env = NULL;
  g_closed_len = 0;
}

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, "CARTRIDGE_UNSUPPORTED", msg);
  return NULL;
}

/* Points *ref at `v`, deleting the reference it held before. */
static void replace_ref(napi_env env, napi_ref *ref, napi_value v) {
  if (*ref) napi_delete_reference(env, *ref);
  napi_create_reference(env, v, 1, ref);
}

/* register(backend): binds the backend object; returns the shared transfer buffer. */
static napi_value js_register(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return throw_error(env, "register(backend) needs a backend object");
  if (g_env != NULL && g_env != env) {
    return throw_error(env, "SQLite databases in containers can only be opened on the thread that first opened one");
  }
  napi_value fns[CB_COUNT];
  for (int i = 0; i < CB_COUNT; i++) {
    bool has = false;
    napi_has_named_property(env, argv[0], CB_NAMES[i], &has);
    if (!has) return throw_error(env, "backend is missing a method");
    if (napi_get_named_property(env, argv[0], CB_NAMES[i], &fns[i]) != napi_ok) return throw_error(env, "backend is missing a method");
  }
  replace_ref(env, &g_backend, argv[0]);
  for (int i = 0; i < CB_COUNT; i++) replace_ref(env, &g_fns[i], fns[i]);
  if (!g_buffer_ref) {
    napi_value ab;
    void *data = NULL;
    if (napi_create_arraybuffer(env, BUF_SIZE, &data, &ab) != napi_ok) return throw_error(env, "cannot allocate the transfer buffer");
    napi_create_reference(env, ab, 1, &g_buffer_ref);
    g_buf = data;
  }
  if (g_env != env) napi_add_env_cleanup_hook(env, on_env_cleanup, env);
  g_env = env;
  g_main_thread = pthread_self();
  g_js_enabled = 1;
  napi_value ab;
  napi_get_reference_value(env, g_buffer_ref, &ab);
  return ab;
}

/* takeClosed(): handles of files SQLite closed since the last call. */
static napi_value js_take_closed(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr;
  napi_create_array_with_length(env, g_closed_len, &arr);
  for (size_t i = 0; i < g_closed_len; i++) {
    napi_value v;
    napi_create_double(env, g_closed[i], &v);
    napi_set_element(env, arr, (uint32_t)i, v);
  }
  g_closed_len = 0;
  return arr;
}

/* disable(): no more calls into JavaScript (process shutdown). */
static napi_value js_disable(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  g_js_enabled = 0;
  return NULL;
}

/* vfsRegistered(): whether the SQLite side has been loaded and registered. */
static napi_value js_vfs_registered(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_get_boolean(env, g_vfs_registered, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"register", NULL, js_register, NULL, NULL, NULL, napi_default, NULL},
      {"takeClosed", NULL, js_take_closed, NULL, NULL, NULL, napi_default, NULL},
      {"disable", NULL, js_disable, NULL, NULL, NULL, napi_default, NULL},
      {"vfsRegistered", NULL, js_vfs_registered, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
