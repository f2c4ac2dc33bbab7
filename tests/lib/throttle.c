/* throttle.c - an LD_PRELOAD shim for the tests: makes reads of chosen
 * files slow, stuck or failing, as on a throttled or broken network
 * share, without any network. Built for `make check` as
 * tests/lib/throttle.so (no sanitizer: under ASan set
 * ASAN_OPTIONS=verify_asan_link_order=0).
 *
 * Each mode applies to the files whose path contains its pattern:
 *
 *   THROTTLE_SLOW=PAT     every read sleeps THROTTLE_DELAY_MS (default
 *                         100) and returns at most THROTTLE_BYTES bytes
 *                         (default 1), after THROTTLE_SLOW_AFTER bytes of
 *                         the file (default 0) were read at full speed
 *   THROTTLE_STALL=PAT    once THROTTLE_STALL_AFTER bytes (default 4096)
 *                         were read from an open file, its next read
 *                         blocks THROTTLE_STALL_SECONDS (default 2)
 *   THROTTLE_HANG=PAT     the same, but the read never returns (a dead
 *                         hard-mounted share)
 *   THROTTLE_FAIL=PAT     the first THROTTLE_FAIL_OPENS opens and the
 *                         first THROTTLE_FAIL_READS reads (counted over
 *                         the process) fail with THROTTLE_ERRNO (EIO,
 *                         ESTALE, ETIMEDOUT, EACCES, ENOENT; default EIO)
 *   THROTTLE_CRASH=PAT    a read of the file, after THROTTLE_CRASH_DELAY_MS
 *                         (default 0), crashes the process with
 *                         THROTTLE_SIGNAL (SEGV, BUS, FPE, ABRT; default
 *                         SEGV), as a decoder crashing on a hostile file
 *                         would; with THROTTLE_CRASH_THREAD=1 the signal
 *                         comes from a new thread (a decoder's own
 *                         thread pool) while the reader waits
 *
 *   THROTTLE_FULL=PAT     writes to the file, once THROTTLE_FULL_AFTER bytes
 *                         (default 65536) were written through the
 *                         descriptor, fail with ENOSPC (a full disk)
 *
 * open/openat (and their 64-bit and fortified names) remember which
 * descriptors belong to a matching file; read/pread act on those. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_FD 4096

enum { M_SLOW = 1, M_STALL = 2, M_FAIL = 4, M_HANG = 8, M_CRASH = 16, M_FULL = 32 };

static atomic_int fd_mode[MAX_FD];       /* modes of each descriptor */
static atomic_llong fd_bytes[MAX_FD];    /* bytes read through it */
static atomic_llong fd_written[MAX_FD];  /* bytes written through it */
static atomic_int fd_stalled[MAX_FD];    /* its stall happened */
static atomic_int fails_open, fails_read; /* failures left */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int fail_errno = EIO;

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : dflt;
}

static void init(void)
{
    atomic_store(&fails_open, (int)env_long("THROTTLE_FAIL_OPENS", 0));
    atomic_store(&fails_read, (int)env_long("THROTTLE_FAIL_READS", 0));
    const char *e = getenv("THROTTLE_ERRNO");
    static const struct { const char *name; int err; } names[] = {
        { "EIO", EIO }, { "ESTALE", ESTALE }, { "ETIMEDOUT", ETIMEDOUT },
        { "EACCES", EACCES }, { "ENOENT", ENOENT },
    };
    for (size_t i = 0; e && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(e, names[i].name) == 0)
            fail_errno = names[i].err;
}

static bool matches(const char *env, const char *path)
{
    const char *pat = getenv(env);
    return pat && *pat && path && strstr(path, pat);
}

static int modes_of(const char *path)
{
    return (matches("THROTTLE_SLOW", path) ? M_SLOW : 0) |
           (matches("THROTTLE_STALL", path) ? M_STALL : 0) |
           (matches("THROTTLE_FAIL", path) ? M_FAIL : 0) |
           (matches("THROTTLE_HANG", path) ? M_HANG : 0) |
           (matches("THROTTLE_CRASH", path) ? M_CRASH : 0) |
           (matches("THROTTLE_FULL", path) ? M_FULL : 0);
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Take one failure from *left if any is left. */
static bool take(atomic_int *left)
{
    int n = atomic_load(left);
    while (n > 0)
        if (atomic_compare_exchange_weak(left, &n, n - 1))
            return true;
    return false;
}

/* ---- opens ---- */

/* Called after the real open: -1 with errno set if it is to fail. */
static int opened(const char *path, int fd)
{
    pthread_once(&once, init);
    int m = modes_of(path);
    if (fd < 0 || !m)
        return fd;
    if ((m & M_FAIL) && take(&fails_open)) {
        close(fd);
        errno = fail_errno;
        return -1;
    }
    if (fd < MAX_FD) {
        atomic_store(&fd_mode[fd], m);
        atomic_store(&fd_bytes[fd], 0);
        atomic_store(&fd_written[fd], 0);
        atomic_store(&fd_stalled[fd], 0);
    }
    return fd;
}

#define REAL(name, type) \
    static type real_##name; \
    if (!real_##name) \
        real_##name = (type)dlsym(RTLD_NEXT, #name)

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*close_fn)(int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    REAL(open, open_fn);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(path, real_open(path, flags, mode));
}

int open64(const char *path, int flags, ...)
{
    REAL(open64, open_fn);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(path, real_open64(path, flags, mode));
}

int openat(int dir, const char *path, int flags, ...)
{
    REAL(openat, openat_fn);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(path, real_openat(dir, path, flags, mode));
}

int openat64(int dir, const char *path, int flags, ...)
{
    REAL(openat64, openat_fn);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(path, real_openat64(dir, path, flags, mode));
}

int close(int fd)
{
    REAL(close, close_fn);
    if (fd >= 0 && fd < MAX_FD)
        atomic_store(&fd_mode[fd], 0);
    return real_close(fd);
}

/* ---- reads ---- */

static int crash_signal(void)
{
    const char *s = getenv("THROTTLE_SIGNAL");
    if (s && strcmp(s, "BUS") == 0)
        return SIGBUS;
    if (s && strcmp(s, "FPE") == 0)
        return SIGFPE;
    if (s && strcmp(s, "ABRT") == 0)
        return SIGABRT;
    return SIGSEGV;
}

static void *crash_main(void *arg)
{
    (void)arg;
    raise(crash_signal());
    return NULL;
}

static void crash(void)
{
    sleep_s((double)env_long("THROTTLE_CRASH_DELAY_MS", 0) / 1000.0);
    if (env_long("THROTTLE_CRASH_THREAD", 0)) {
        pthread_t t;
        if (pthread_create(&t, NULL, crash_main, NULL) == 0)
            sleep_s(30);
    }
    raise(crash_signal());
}

/* Before a read of n bytes on fd: how many may be read (0: fail with
 * errno set, returned as -1 by the caller). */
static ssize_t before_read(int fd, size_t n, bool *fail)
{
    *fail = false;
    if (fd < 0 || fd >= MAX_FD)
        return (ssize_t)n;
    int m = atomic_load(&fd_mode[fd]);
    if (!m)
        return (ssize_t)n;
    if (m & M_CRASH)
        crash();
    if ((m & M_FAIL) && take(&fails_read)) {
        *fail = true;
        errno = fail_errno;
        return 0;
    }
    long long done = atomic_load(&fd_bytes[fd]);
    if ((m & (M_STALL | M_HANG)) && done >= env_long("THROTTLE_STALL_AFTER", 4096) &&
        !atomic_exchange(&fd_stalled[fd], 1)) {
        if (m & M_HANG)
            for (;;)
                sleep_s(3600);
        sleep_s((double)env_long("THROTTLE_STALL_SECONDS", 2));
    }
    if ((m & M_SLOW) && done >= env_long("THROTTLE_SLOW_AFTER", 0)) {
        sleep_s((double)env_long("THROTTLE_DELAY_MS", 100) / 1000.0);
        long max = env_long("THROTTLE_BYTES", 1);
        if (max > 0 && n > (size_t)max)
            n = (size_t)max;
    }
    return (ssize_t)n;
}

static void after_read(int fd, ssize_t got)
{
    if (got > 0 && fd >= 0 && fd < MAX_FD)
        atomic_fetch_add(&fd_bytes[fd], got);
}

ssize_t read(int fd, void *buf, size_t n)
{
    REAL(read, read_fn);
    bool fail;
    ssize_t k = before_read(fd, n, &fail);
    if (fail)
        return -1;
    ssize_t got = real_read(fd, buf, (size_t)k);
    after_read(fd, got);
    return got;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    REAL(pread, pread_fn);
    bool fail;
    ssize_t k = before_read(fd, n, &fail);
    if (fail)
        return -1;
    ssize_t got = real_pread(fd, buf, (size_t)k, off);
    after_read(fd, got);
    return got;
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    REAL(pread64, pread_fn);
    bool fail;
    ssize_t k = before_read(fd, n, &fail);
    if (fail)
        return -1;
    ssize_t got = real_pread64(fd, buf, (size_t)k, off);
    after_read(fd, got);
    return got;
}

/* ---- writes ---- */

typedef ssize_t (*write_fn)(int, const void *, size_t);

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write, write_fn);
    if (fd >= 0 && fd < MAX_FD && (atomic_load(&fd_mode[fd]) & M_FULL)) {
        long long room = env_long("THROTTLE_FULL_AFTER", 65536) - atomic_load(&fd_written[fd]);
        if (room <= 0) {
            errno = ENOSPC;
            return -1;
        }
        if ((long long)n > room)
            n = (size_t)room;
    }
    ssize_t got = real_write(fd, buf, n);
    if (got > 0 && fd >= 0 && fd < MAX_FD)
        atomic_fetch_add(&fd_written[fd], got);
    return got;
}
