/* pattern.c - which files a walk takes. Globs follow shell semantics
 * (case-sensitive); the built-in extension list is case-insensitive
 * because cameras write "CLIP.MP4" as often as not.
 *
 * The matching is libc's: fnmatch(3) with FNM_PATHNAME, and, for a
 * pattern with braces, glob(3) with GLOB_BRACE run over a file system of
 * one path (GLOB_ALTDIRFUNC), the path being matched, so that nothing is
 * read from the disk and glob decides alone. `**` as a whole segment is
 * zero or more folders: it is tried as that many `*` segments, as many as
 * the path has, each candidate matched as above. */
#include "config.h"
#include "pattern.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char *const pattern_video_exts[] = {
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "mxf", "ts", "m2ts", "mts",
    "mpg", "mpeg", "wmv", "flv", "3gp", "ogv", NULL,
};

/* ---- glob(3) over the one path being matched ---- */

/* The path of the virtual tree (glob's callbacks take no argument). */
static _Thread_local const char *pattern_vpath;

typedef struct pattern_vdir {
    struct dirent de;
    bool done;
} pattern_vdir;

/* dir as glob names it, "." and a leading "./" dropped. */
static const char *pattern_vnorm(const char *dir)
{
    while (dir[0] == '.' && dir[1] == '/')
        dir += 2;
    return strcmp(dir, ".") == 0 ? "" : dir;
}

/* Where the entries of dir start in the path, or NULL if dir is not one
 * of its folders. */
static const char *pattern_vbelow(const char *dir)
{
    dir = pattern_vnorm(dir);
    size_t n = strlen(dir);
    if (n == 0)
        return pattern_vpath;
    if (strncmp(pattern_vpath, dir, n) != 0 || pattern_vpath[n] != '/')
        return NULL;
    return pattern_vpath + n + 1;
}

static void *pattern_vopendir(const char *dir)
{
    const char *rest = pattern_vbelow(dir);
    size_t len = rest ? strcspn(rest, "/") : 0;
    if (!rest || len == 0 || len >= sizeof ((struct dirent *)0)->d_name) {
        errno = ENOENT;
        return NULL;
    }
    pattern_vdir *d = vb_xcalloc(1, sizeof *d);
    memcpy(d->de.d_name, rest, len);
    d->de.d_ino = 1;
    d->de.d_type = rest[len] == '/' ? DT_DIR : DT_REG;
    return d;
}

static struct dirent *pattern_vreaddir(void *h)
{
    pattern_vdir *d = h;
    if (d->done)
        return NULL;
    d->done = true;
    return &d->de;
}

static void pattern_vclosedir(void *h)
{
    free(h);
}

static int pattern_vstat(const char *path, struct stat *st)
{
    path = pattern_vnorm(path);
    size_t n = strlen(path);
    memset(st, 0, sizeof *st);
    if (strcmp(path, pattern_vpath) == 0) {
        st->st_mode = S_IFREG | 0444;
        return 0;
    }
    if (n == 0 || (strncmp(pattern_vpath, path, n) == 0 && pattern_vpath[n] == '/')) {
        st->st_mode = S_IFDIR | 0555;
        return 0;
    }
    errno = ENOENT;
    return -1;
}

/* Does glob(3), braces expanded, find path with pat? */
static bool pattern_glob(const char *pat, const char *path)
{
    glob_t g;
    memset(&g, 0, sizeof g);
    g.gl_opendir = pattern_vopendir;
    g.gl_readdir = pattern_vreaddir;
    g.gl_closedir = pattern_vclosedir;
    g.gl_lstat = pattern_vstat;
    g.gl_stat = pattern_vstat;
    pattern_vpath = path;
    bool hit = false;
    if (glob(pat, GLOB_BRACE | GLOB_ALTDIRFUNC | GLOB_NOSORT, NULL, &g) == 0)
        for (size_t i = 0; !hit && i < g.gl_pathc; i++)
            hit = strcmp(pattern_vnorm(g.gl_pathv[i]), path) == 0;
    globfree(&g);
    pattern_vpath = NULL;
    return hit;
}

/* One pattern without `**` segments against path. */
static bool pattern_one(const char *pat, const char *path)
{
    if (strchr(pat, '{'))
        return pattern_glob(pat, path);
    return fnmatch(pat, path, FNM_PATHNAME) == 0;
}

/* The first `**` that is a whole segment, or NULL. */
static const char *pattern_globstar(const char *pat)
{
    for (const char *p = strstr(pat, "**"); p; p = strstr(p + 1, "**"))
        if ((p == pat || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return p;
    return NULL;
}

/* pat against path, each `**` segment tried as 0 to `segs` `*` segments
 * (1 or more when it ends the pattern); depth bounds the `**` expanded. */
static bool pattern_star(const char *pat, const char *path, size_t segs, int depth)
{
    const char *g = pattern_globstar(pat);
    if (!g || depth > 8)
        return pattern_one(pat, path);
    bool last = g[2] == '\0';
    const char *after = last ? "" : g + 3;
    for (size_t k = last ? 1 : 0; k <= segs; k++) {
        size_t head = (size_t)(g - pat);
        char *cand = vb_xmalloc(head + 2 * k + strlen(after) + 1);
        memcpy(cand, pat, head);
        char *q = cand + head;
        for (size_t i = 0; i < k; i++) {
            *q++ = '*';
            if (i + 1 < k || !last)
                *q++ = '/';
        }
        strcpy(q, after);
        bool hit = pattern_star(cand, path, segs, depth + 1);
        free(cand);
        if (hit)
            return true;
    }
    return false;
}

/* A pattern with a '/' matches the path below the folder walked, one
 * without it the last name. A trailing '/' only matches folders. */
static bool pattern_hit(const char *pat, const char *rel, bool dir)
{
    size_t n = strlen(pat);
    char *own = NULL;
    if (n > 1 && pat[n - 1] == '/') {
        if (!dir)
            return false;
        pat = own = vb_xstrndup(pat, n - 1);
    }
    while (pat[0] == '.' && pat[1] == '/')
        pat += 2;
    const char *slash = strrchr(rel, '/');
    const char *subject = strchr(pat, '/') || !slash ? rel : slash + 1;
    size_t segs = 1;
    for (const char *p = subject; *p; p++)
        segs += *p == '/';
    bool hit = pattern_star(pat, subject, segs, 0);
    free(own);
    return hit;
}

static bool pattern_any(const vb_strlist *l, const char *rel, bool dir)
{
    if (!l)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (pattern_hit(l->v[i], rel, dir))
            return true;
    return false;
}

static bool pattern_video_ext(const char *name)
{
    const char *slash = strrchr(name, '/');
    if (slash)
        name = slash + 1;
    const char *dot = strrchr(name, '.');
    /* "mp4" alone or ".mp4" has no base name: not a video file name. */
    if (!dot || dot == name || dot[1] == '\0')
        return false;
    for (size_t i = 0; pattern_video_exts[i]; i++)
        if (strcasecmp(dot + 1, pattern_video_exts[i]) == 0)
            return true;
    return false;
}

bool pattern_match(const vb_strlist *include, const vb_strlist *exclude, const char *rel)
{
    bool in = (include && include->n > 0) ? pattern_any(include, rel, false)
                                          : pattern_video_ext(rel);
    return in && !pattern_any(exclude, rel, false);
}

bool pattern_walks(const vb_strlist *include)
{
    for (size_t i = 0; include && i < include->n; i++)
        if (strchr(include->v[i], '/'))
            return true;
    return false;
}

bool pattern_excluded_dir(const vb_strlist *exclude, const char *rel)
{
    return pattern_any(exclude, rel, true);
}
