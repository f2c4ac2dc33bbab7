/* util.c - file-system helpers: atomic writes, link-or-copy, mkdir -p,
 * clocks. Every output file goes through util_write_atomic or a
 * temporary name from util_temp_name. */
#include "config.h"
#include "vb-paths.h"
#include "util.h"

#include <dirent.h>
#include <ftw.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *util_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    if (la == 0)
        return vb_xstrdup(b);
    return vb_xasprintf("%.*s/%s", (int)la, a, b);
}

static char *base_of(const char *path, size_t n)
{
    while (n > 0 && path[n - 1] == '/')
        n--;
    size_t s = n;
    while (s > 0 && path[s - 1] != '/')
        s--;
    if (s == n)
        return vb_xstrdup("item");
    return vb_xstrndup(path + s, n - s);
}

char *util_basename(const char *path)
{
    return base_of(path, strlen(path));
}

char *util_url_basename(const char *url)
{
    return base_of(url, strcspn(url, "?#"));
}

/* ---- the output folder's fence ---- */

/* Set before the workers start, read only after. */
static struct {
    char *root;      /* as the paths below it are spelt, no trailing '/' */
    size_t len;
    dev_t dev;
    ino_t ino;
} fence;

int util_out_fence(const char *root, vb_error *e)
{
    util_out_unfence();
    struct stat st;
    if (stat(root, &st) != 0)
        return vb_fail(e, VB_ERR_IO, "%s: %s", root, strerror(errno));
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    fence.root = vb_xstrndup(root, len);
    fence.len = len;
    fence.dev = st.st_dev;
    fence.ino = st.st_ino;
    return 0;
}

void util_out_unfence(void)
{
    free(fence.root);
    fence.root = NULL;
    fence.len = 0;
}

int util_out_check(vb_error *e)
{
    if (!fence.root)
        return 0;
    struct stat st;
    if (stat(fence.root, &st) != 0 || st.st_dev != fence.dev || st.st_ino != fence.ino)
        return vb_fail(e, VB_ERR_IO, "%s: the output folder was moved or removed", fence.root);
    return 0;
}

/* path lies below the fenced folder, and its parent is that folder or
 * above: creating the parent would make a new output folder. */
static bool fence_stops(const char *path, size_t parent_len)
{
    return fence.root && parent_len <= fence.len && strncmp(path, fence.root, fence.len) == 0 &&
           path[fence.len] == '/';
}

int util_mkdir_p(const char *path, vb_error *e)
{
    /* The common case first: the parent exists, one call. Walk up only
     * when it does not. */
    if (mkdir(path, 0777) == 0)
        return 0;
    int err = errno;
    if (err == ENOENT) {
        char *parent = vb_xstrdup(path);
        char *slash = strrchr(parent, '/');
        while (slash && slash > parent && slash[1] == '\0') {
            *slash = '\0';
            slash = strrchr(parent, '/');
        }
        bool has_parent = slash && slash != parent;
        int rc = 0;
        if (has_parent && fence_stops(path, (size_t)(slash - parent))) {
            /* The output folder itself is gone: never made again (the
             * journal and the items so far are where it went). */
            free(parent);
            if (util_out_check(e) != 0)
                return -1;
            return vb_fail(e, VB_ERR_IO, "cannot create folder %s: %s", path, strerror(err));
        }
        if (has_parent) {
            *slash = '\0';
            rc = util_mkdir_p(parent, e);
        }
        free(parent);
        if (!has_parent)
            return vb_fail(e, VB_ERR_IO, "cannot create folder %s: %s", path, strerror(err));
        if (rc != 0)
            return -1;
        if (mkdir(path, 0777) == 0)
            return 0;
        err = errno;
    }
    struct stat st;
    if (err == EEXIST) {
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        return vb_fail(e, VB_ERR_IO, "%s exists and is not a folder", path);
    }
    return vb_fail(e, VB_ERR_IO, "cannot create folder %s: %s", path, strerror(err));
}

char *util_temp_name(const char *path)
{
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1);
    /* Hidden, and tagged with our pid so that leftovers of a killed run
     * can be recognised and never mistaken for results. */
    char *dir = vb_xstrdup(path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    char *r;
    if (slash) {
        *slash = '\0';
        r = vb_xasprintf("%s/.%s.vbtmp.%ld.%u", dir, base, (long)getpid(), n);
    } else {
        r = vb_xasprintf(".%s.vbtmp.%ld.%u", base, (long)getpid(), n);
    }
    free(dir);
    return r;
}

void util_remove_temps(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *p = util_path_join(dir, de->d_name);
        struct stat st;
        /* lstat: never follow a link out of the output folder. */
        if (lstat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth > 0)
                util_remove_temps(p, depth - 1);
            else if (S_ISREG(st.st_mode) && de->d_name[0] == '.' &&
                     strstr(de->d_name, ".vbtmp."))
                unlink(p);
        }
        free(p);
    }
    closedir(d);
}

int util_write_atomic(const char *path, const void *data, size_t len,
                      vb_error *e)
{
    char *tmp = util_temp_name(path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", path,
                       strerror(err));
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", path,
                           strerror(err));
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        free(tmp);
        return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", path,
                       strerror(err));
    }
    free(tmp);
    return 0;
}

static int copy_fd(int in, int out)
{
    char buf[1 << 16];
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            off += w;
        }
    }
}

/* A hard link to what src names: a symbolic link is followed (link()
 * would link the symbolic link itself, which dangles or points out of
 * OUT once placed there). */
static int link_target(const char *src, const char *dst)
{
    return linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW);
}

int util_link_or_copy(const char *src, const char *dst, vb_error *e)
{
    /* A link is atomic by itself: the name appears whole or not at all. */
    if (link_target(src, dst) == 0)
        return 0;
    if (errno == EEXIST) {
        struct stat ss, ds;
        /* Already in place (a rerun): nothing to do. Otherwise replace
         * through a temporary name; so is a symbolic link an earlier
         * version left there (lstat: never taken for the file). */
        if (stat(src, &ss) == 0 && lstat(dst, &ds) == 0 && S_ISREG(ds.st_mode) &&
            ss.st_dev == ds.st_dev && ss.st_ino == ds.st_ino)
            return 0;
    }
    char *tmp = util_temp_name(dst);
    if (link_target(src, tmp) == 0) {
        if (rename(tmp, dst) == 0) {
            free(tmp);
            return 0;
        }
        int err = errno;
        unlink(tmp);
        free(tmp);
        return vb_fail(e, VB_ERR_IO, "cannot place %s: %s", dst,
                       strerror(err));
    }
    /* Across file systems (EXDEV) or where links are refused: copy.
     * Only a regular file: a FIFO put in src's place since it was found
     * would block the open (O_NONBLOCK) and the copy. */
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    int err = errno;
    struct stat ist;
    const char *why = NULL;
    if (in >= 0) {
        if (fstat(in, &ist) != 0 || fcntl(in, F_SETFL, 0) != 0)
            err = errno;
        else if (!S_ISREG(ist.st_mode))
            why = "not a regular file";
        else
            err = 0;
        if (err || why) {
            close(in);
            in = -1;
        }
    }
    if (in < 0) {
        free(tmp);
        return vb_fail(e, VB_ERR_IO, "cannot read %s: %s", src, why ? why : strerror(err));
    }
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out < 0) {
        err = errno;
        close(in);
        free(tmp);
        return vb_fail(e, VB_ERR_IO, "cannot write %s: %s", dst,
                       strerror(err));
    }
    int rc = copy_fd(in, out);
    err = errno;
    close(in);
    if (close(out) != 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    if (rc == 0 && rename(tmp, dst) != 0) {
        rc = -1;
        err = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        free(tmp);
        return vb_fail(e, VB_ERR_IO, "cannot copy %s to %s: %s", src, dst,
                       strerror(err));
    }
    free(tmp);
    return 0;
}

double util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double util_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void util_iso_time(char *buf, size_t len, double epoch)
{
    /* Local time with its offset: the same clock as the batch id, and
     * still unambiguous; RFC 3339 (jq's fromdateiso8601, Python's
     * fromisoformat): "Z" for UTC, else "+01:00". */
    time_t t = (time_t)epoch;
    struct tm tm;
    localtime_r(&t, &tm);
    char off[8];
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    if (strftime(off, sizeof off, "%z", &tm) != 5 || strcmp(off + 1, "0000") == 0)
        snprintf(buf + n, len - n, "Z");
    else
        snprintf(buf + n, len - n, "%.3s:%.2s", off, off + 3);
}

int util_ncpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

bool util_is_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 ||
           strncasecmp(s, "https://", 8) == 0;
}

long util_peak_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ru.ru_maxrss;
}

/* Length of the valid UTF-8 sequence starting at p (at most n bytes),
 * or 0 if it is not one: overlong forms, surrogates and code points
 * above U+10FFFF are rejected. */
size_t util_utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        len = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        len = 3;
        if (p[0] == 0xE0)
            lo = 0xA0;
        else if (p[0] == 0xED)
            hi = 0x9F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        len = 4;
        if (p[0] == 0xF0)
            lo = 0x90;
        else if (p[0] == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

char *util_utf8_sanitize(const char *s)
{
    size_t n = strlen(s);
    char *out = vb_xmalloc(n + 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            out[o++] = (char)u[i++];
            continue;
        }
        size_t len = util_utf8_len(u + i, n - i);
        if (len == 0) {
            out[o++] = '?';
            i++;
        } else {
            memcpy(out + o, u + i, len);
            o += len;
            i += len;
        }
    }
    out[o] = '\0';
    return out;
}

long util_utf8_chars(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    long chars = 0;
    for (size_t i = 0; i < n; chars++) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = util_utf8_len(u + i, n - i);
        if (len == 0)
            return -1;
        i += len;
    }
    return chars;
}

char *util_read_file(const char *path, size_t *len, vb_error *e)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        vb_fail(e, VB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = vb_xmalloc(cap);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap)
            buf = vb_xrealloc(buf, cap *= 2);
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        vb_fail(e, VB_ERR_IO, "cannot read %s", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

bool util_path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 1 && dir[0] == '/')
        return path[0] == '/';
    return n > 0 && strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

bool util_in_build_tree(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    if (util_path_within(exe, VB_BUILD_DIR))
        return true;
    /* VB_BUILD_DIR may be spelled through a symbolic link. */
    char *real = realpath(VB_BUILD_DIR, NULL);
    bool under = real && util_path_within(exe, real);
    free(real);
    return under;
}

void util_sleep(double seconds)
{
    if (!(seconds > 0))
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

char *util_url_redact(const char *url)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t host = strcspn(h, "/?#");
    if (memchr(h, '@', host))
        return vb_xstrdup("(a URL)");
    return vb_xasprintf("%.*s/...", (int)(h - url + (ptrdiff_t)host), url);
}

size_t util_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) !=
                                            tolower((unsigned char)b[j - 1]));
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    }
    return d[la][lb];
}

const char *util_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bd = UTIL_SUGGEST_MAX + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = cands[i] ? util_edit_distance(word, cands[i]) : bd;
        if (d < bd) {
            bd = d;
            best = cands[i];
        }
    }
    return best;
}

char *util_shell_quote(const char *s)
{
    if (s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                          "0123456789_-./:=@%+,") == strlen(s))
        return vb_xstrdup(s);
    char *q = vb_xmalloc(4 * strlen(s) + 3), *p = q;
    *p++ = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            memcpy(p, "'\\''", 4);
            p += 4;
        } else {
            *p++ = *s;
        }
    }
    *p++ = '\'';
    *p = '\0';
    return q;
}

/* nftw passes no pointer of the caller's: the walk's state, one walk a
 * thread. */
static _Thread_local struct {
    const char *src, *dst;
    size_t src_len;
    vb_error *e;
} link_walk;

static int link_tree_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)f;
    char *to = util_path_join(link_walk.dst, path[link_walk.src_len] == '/'
                                                 ? path + link_walk.src_len + 1 : "");
    int rc = 0;
    if (flag == FTW_D) {
        if (mkdir(to, 0777) != 0 && errno != EEXIST)
            rc = vb_fail(link_walk.e, VB_ERR_IO, "cannot make %s: %s", to, strerror(errno));
    } else if (flag == FTW_F) {
        rc = util_link_or_copy(path, to, link_walk.e);
    } else if (flag == FTW_SL) {
        /* A link stays a link (an item's video may be one to its input). */
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0 || (target[n] = '\0', symlink(target, to) != 0 && errno != EEXIST))
            rc = vb_fail(link_walk.e, VB_ERR_IO, "cannot link %s: %s", to, strerror(errno));
    } else {
        rc = vb_fail(link_walk.e, VB_ERR_IO, "cannot read %s", path);
    }
    free(to);
    return rc != 0;
}

int util_link_tree(const char *src, const char *dst, vb_error *e)
{
    link_walk.src = src;
    link_walk.dst = dst;
    link_walk.src_len = strlen(src);
    link_walk.e = e;
    int rc = nftw(src, link_tree_one, 16, FTW_PHYS);
    if (rc < 0)
        return vb_fail(e, VB_ERR_IO, "cannot read %s: %s", src, strerror(errno));
    return rc == 0 ? 0 : -1;
}
