/* scan.c - discovery. Roots (PATH arguments and list files) are visited
 * in the order given; folders are walked depth-first, each folder's names
 * read once and sorted with strcmp so that the order is stable whatever
 * the file system returns. Only the folders on the current path are held,
 * so memory does not grow with the number of files. Nothing is opened
 * here except folders and list files: probing reports unreadable files.
 *
 * What the user named bounds what is read: a symbolic link met in a walk
 * whose target lies outside the input folders is an error unless [input]
 * outside_links = allow; a subtree too deep for a path (PATH_MAX) is an
 * error, not silently left out; a list line is read into a fixed buffer
 * (SCAN_LINE_MAX), never a growing one. */
#include "config.h"
#include "scan.h"
#include "shard.h"
#include "msg.h"
#include "pattern.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct scan_root {
    char *path;
    bool is_list;
} scan_root;

/* One folder on the current path. */
typedef struct scan_level {
    char *path;         /* path to open the folder by */
    char *rel;          /* relative to the walked root; NULL at the root */
    dev_t dev;
    ino_t ino;
    char **names;       /* sorted, owned */
    size_t n, i;
} scan_level;

typedef struct scan_id {
    dev_t dev;
    ino_t ino;
} scan_id;

/* A folder never walked; resolved lazily in case it is created after
 * scan_skip_dir() was called. */
typedef struct scan_skip {
    char *path;
    bool known;
    scan_id id;
} scan_skip;

struct scanner {
    const input_config *in;     /* borrowed */
    shard shard;                /* only this shard's entries; n 0: all */
    long long others;           /* entries passed over: other shards' */
    scan_root *roots;
    size_t nroots, iroot;
    FILE *list;                 /* list file being read, or NULL */
    char *listpath;
    char *line;                 /* SCAN_LINE_MAX + 1 bytes once a list is read */
    long long lineno;           /* of the list being read, from 1 */
    long long longlen;          /* bytes of the last line over SCAN_LINE_MAX */
    /* outside_links = refuse: the real paths links may lead to. */
    char *walkreal;             /* the folder walked now (NULL: unresolved) */
    int walkerr;                /* errno when it could not be resolved */
    char **rootreals;           /* the PATH arguments that are folders */
    size_t nrootreals;
    bool rootreals_known;
    scan_level *stack;
    size_t depth, stackcap;
    scan_skip *skips;
    size_t nskips;
    scan_id *loops;             /* loop targets already reported */
    size_t nloops;
    bool urls_only;             /* see scan_urls_only */
    bool walk;                  /* into sub-folders: recursive, or a pattern
                                   names a path */
};

scanner *scan_new(const input_config *in)
{
    scanner *s = vb_xcalloc(1, sizeof(*s));
    s->in = in;
    s->walk = in->recursive || pattern_walks(&in->patterns);
    return s;
}

static void scan_level_free(scan_level *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->path);
    free(l->rel);
    memset(l, 0, sizeof(*l));
}

void scan_free(scanner **sp)
{
    if (!sp || !*sp)
        return;
    scanner *s = *sp;
    for (size_t i = 0; i < s->nroots; i++)
        free(s->roots[i].path);
    free(s->roots);
    if (s->list && s->list != stdin)
        fclose(s->list);
    free(s->listpath);
    free(s->line);
    free(s->walkreal);
    for (size_t i = 0; i < s->nrootreals; i++)
        free(s->rootreals[i]);
    free(s->rootreals);
    while (s->depth > 0)
        scan_level_free(&s->stack[--s->depth]);
    free(s->stack);
    for (size_t i = 0; i < s->nskips; i++)
        free(s->skips[i].path);
    free(s->skips);
    free(s->loops);
    free(s);
    *sp = NULL;
}

static void scan_add_root(scanner *s, const char *path, bool is_list)
{
    s->roots = vb_xrealloc(s->roots, (s->nroots + 1) * sizeof(*s->roots));
    s->roots[s->nroots].path = vb_xstrdup(path);
    s->roots[s->nroots].is_list = is_list;
    s->nroots++;
}

void scan_add_path(scanner *s, const char *path)
{
    scan_add_root(s, path, false);
}

void scan_add_list(scanner *s, const char *listfile)
{
    scan_add_root(s, listfile, true);
}

void scan_urls_only(scanner *s)
{
    s->urls_only = true;
}

void scan_skip_dir(scanner *s, const char *path)
{
    s->skips = vb_xrealloc(s->skips, (s->nskips + 1) * sizeof(*s->skips));
    scan_skip *k = &s->skips[s->nskips++];
    struct stat st;
    k->path = vb_xstrdup(path);
    k->known = stat(path, &st) == 0;
    if (k->known) {
        k->id.dev = st.st_dev;
        k->id.ino = st.st_ino;
    }
}

void scan_entry_clear(scan_entry *en)
{
    if (!en)
        return;
    free(en->path);
    free(en->rel);
    free(en->errmsg);
    memset(en, 0, sizeof(*en));
}

bool scan_is_output(const char *dir)
{
    char *db = util_path_join(dir, ".vbatch/state.db");
    struct stat st;
    bool yes = lstat(db, &st) == 0 && S_ISREG(st.st_mode);
    free(db);
    return yes;
}

/* true if the folder holds an entry a walk would look at. */
static bool scan_has_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *de;
    bool any = false;
    while (!any && (de = readdir(d)))
        any = de->d_name[0] != '.';
    closedir(d);
    return any;
}

int scan_check_output(const vb_strlist *paths, const char *out_dir, bool recursive,
                      vb_error *e)
{
    struct stat os;
    if (stat(out_dir, &os) != 0 || !S_ISDIR(os.st_mode))
        return 0;   /* made by the run: empty, holds no input */
    char *oreal = realpath(out_dir, NULL);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < paths->n; i++) {
        struct stat ps;
        if (stat(paths->v[i], &ps) != 0 || !S_ISDIR(ps.st_mode))
            continue;
        if (ps.st_dev == os.st_dev && ps.st_ino == os.st_ino) {
            rc = vb_fail(e, VB_ERR_USAGE, "the output folder %s is the input folder %s: "
                         "give --output another folder (one inside it is fine)",
                         out_dir, paths->v[i]);
            break;
        }
        char *preal = realpath(paths->v[i], NULL);
        /* Inside a walked input, an output folder is left out of the walk:
         * refused if it holds files that are not an earlier run's. */
        if (recursive && oreal && preal && util_path_within(oreal, preal) &&
            !scan_is_output(out_dir) && scan_has_entries(out_dir))
            rc = vb_fail(e, VB_ERR_USAGE, "the output folder %s lies in the input folder %s "
                         "and holds files that are not an earlier vbatch output: they would "
                         "not be read; give --output an empty or new folder", out_dir,
                         paths->v[i]);
        free(preal);
    }
    free(oreal);
    return rc;
}

static bool scan_skipped(scanner *s, const struct stat *st)
{
    for (size_t i = 0; i < s->nskips; i++) {
        scan_skip *k = &s->skips[i];
        struct stat kst;
        if (!k->known && stat(k->path, &kst) == 0) {
            k->known = true;
            k->id.dev = kst.st_dev;
            k->id.ino = kst.st_ino;
        }
        if (k->known && k->id.dev == st->st_dev && k->id.ino == st->st_ino)
            return true;
    }
    return false;
}

/* Fill *out, taking ownership of path and rel. Returns 1 (an entry). */
static int scan_emit(scan_entry *out, char *path, char *rel, int code,
                     const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int scan_emit(scan_entry *out, char *path, char *rel, int code,
                     const char *fmt, ...)
{
    out->path = path;
    out->rel = rel;
    out->is_url = false;
    out->error = code;
    out->errmsg = NULL;
    if (code && fmt) {
        va_list ap;
        va_start(ap, fmt);
        out->errmsg = vb_xvasprintf(fmt, ap);
        va_end(ap);
    }
    return 1;
}

static int scan_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read and sort a folder's names and push it. Returns 0, or -1 with errno
 * set when the folder cannot be read. */
static int scan_push(scanner *s, const char *path, const char *rel)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct stat st;
    if (fstat(dirfd(d), &st) != 0) {
        int err = errno;
        closedir(d);
        errno = err;
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        /* Hidden files, temporaries, "." and "..". */
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = vb_xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = vb_xstrdup(de->d_name);
    }
    if (errno != 0) {
        int err = errno;
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        closedir(d);
        errno = err;
        return -1;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), scan_cmp);
    if (s->depth == s->stackcap) {
        s->stackcap = s->stackcap ? s->stackcap * 2 : 8;
        s->stack = vb_xrealloc(s->stack, s->stackcap * sizeof(*s->stack));
    }
    if (s->depth == 0 && s->in->outside_links == OUTSIDE_REFUSE) {
        /* The root of a walk: where its links may lead. */
        free(s->walkreal);
        s->walkreal = realpath(path, NULL);
        s->walkerr = s->walkreal ? 0 : errno;
    }
    scan_level *l = &s->stack[s->depth++];
    l->path = vb_xstrdup(path);
    l->rel = rel ? vb_xstrdup(rel) : NULL;
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    l->names = names;
    l->n = n;
    l->i = 0;
    return 0;
}

/* The folder on the current path with this identity, or NULL. */
static const scan_level *scan_on_stack(const scanner *s, const struct stat *st)
{
    for (size_t i = 0; i < s->depth; i++)
        if (s->stack[i].dev == st->st_dev && s->stack[i].ino == st->st_ino)
            return &s->stack[i];
    return NULL;
}

/* true the first time a loop to this folder is seen in the scan. */
static bool scan_new_loop(scanner *s, const struct stat *st)
{
    for (size_t i = 0; i < s->nloops; i++)
        if (s->loops[i].dev == st->st_dev && s->loops[i].ino == st->st_ino)
            return false;
    s->loops = vb_xrealloc(s->loops, (s->nloops + 1) * sizeof(*s->loops));
    s->loops[s->nloops].dev = st->st_dev;
    s->loops[s->nloops].ino = st->st_ino;
    s->nloops++;
    return true;
}

/* The PATH arguments that are folders, resolved once when first needed:
 * a link from one input folder into another named one is inside. */
static void scan_rootreals(scanner *s)
{
    if (s->rootreals_known)
        return;
    s->rootreals_known = true;
    for (size_t i = 0; i < s->nroots; i++) {
        struct stat st;
        char *r = s->roots[i].is_list ? NULL : realpath(s->roots[i].path, NULL);
        if (r && stat(r, &st) == 0 && S_ISDIR(st.st_mode)) {
            s->rootreals = vb_xrealloc(s->rootreals, (s->nrootreals + 1) * sizeof(char *));
            s->rootreals[s->nrootreals++] = r;
        } else {
            free(r);
        }
    }
}

/* A symbolic link met in a walk, with outside_links = refuse: 0 when its
 * target lies in the folder walked or in a folder named as a PATH, else
 * 1 with *out filled with the refusal. Nothing is opened: the target is
 * resolved by name only. */
static int scan_outside(scanner *s, const char *path, const char *rel, scan_entry *out)
{
    if (!s->walkreal)
        return scan_emit(out, vb_xstrdup(path), vb_xstrdup(rel), VB_ERR_IO,
                         "symbolic link not followed: the input folder can not be resolved "
                         "(%s)", strerror(s->walkerr));
    char *real = realpath(path, NULL);
    if (!real) {
        int err = errno;
        return scan_emit(out, vb_xstrdup(path), vb_xstrdup(rel), VB_ERR_IO,
                         "symbolic link not followed: its target can not be resolved (%s)",
                         strerror(err));
    }
    bool inside = util_path_within(real, s->walkreal);
    scan_rootreals(s);
    for (size_t i = 0; !inside && i < s->nrootreals; i++)
        inside = util_path_within(real, s->rootreals[i]);
    if (inside) {
        free(real);
        return 0;
    }
    scan_emit(out, vb_xstrdup(path), vb_xstrdup(rel), VB_ERR_LIMIT,
              "links outside the input folders: %s (not read; --outside-links allow or "
              "[input] outside_links = allow takes it)", real);
    free(real);
    return 1;
}

char *scan_refused_link(const input_config *in, const char *path, const vb_strlist *roots)
{
    struct stat st;
    if (in->outside_links != OUTSIDE_REFUSE || lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
        return NULL;
    char *real = realpath(path, NULL);
    if (!real)
        return vb_xasprintf("symbolic link not followed: its target can not be resolved (%s)",
                            strerror(errno));
    /* Named by the user (an argument, a list line): always taken. */
    bool walked = false;
    for (size_t i = 0; !walked && roots && i < roots->n; i++)
        walked = strcmp(path, roots->v[i]) != 0 && util_path_within(path, roots->v[i]);
    bool inside = !walked;
    for (size_t i = 0; !inside && roots && i < roots->n; i++) {
        char *r = realpath(roots->v[i], NULL);
        struct stat rs;
        inside = r && stat(r, &rs) == 0 && S_ISDIR(rs.st_mode) && util_path_within(real, r);
        free(r);
    }
    char *why = inside ? NULL
                       : vb_xasprintf("links outside the input folders: %s (not read; "
                                      "--outside-links allow or [input] outside_links = allow "
                                      "takes it)", real);
    free(real);
    return why;
}

/* A long path for a message: its start and its last name (or end).
 * Caller frees. */
static char *scan_short(const char *path)
{
    enum { HEAD = 48, TAIL = 256 };
    size_t n = strlen(path);
    if (n <= HEAD + TAIL)
        return vb_xstrdup(path);
    const char *slash = strrchr(path, '/');
    size_t h = HEAD, t = slash && n - (size_t)(slash - path) <= TAIL ? (size_t)(slash - path)
                                                                    : n - TAIL;
    /* Cut between UTF-8 sequences, not inside one. */
    while (h > 0 && ((unsigned char)path[h] & 0xC0) == 0x80)
        h--;
    while (t < n && ((unsigned char)path[t] & 0xC0) == 0x80)
        t++;
    return vb_xasprintf("%.*s[... %zu bytes ...]%s", (int)h, path, t - h, path + t);
}

/* An entry whose path is too long for the system (PATH_MAX): a folder
 * that would be walked, or a file the patterns take, is an error naming
 * it; what would be left out anyway is skipped. Its type is read
 * relative to its folder, whose own path is short enough. Returns 1 with
 * *out filled, or 0. Takes path and rel. */
static int scan_too_long(scanner *s, const scan_level *top, const char *name, bool match,
                         char *path, char *rel, scan_entry *out)
{
    struct stat st;
    int dfd = open(top->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool known = dfd >= 0 && fstatat(dfd, name, &st, 0) == 0;
    if (dfd >= 0)
        close(dfd);
    bool dir = known && S_ISDIR(st.st_mode);
    if (dir ? !s->walk || scan_skipped(s, &st) : !match) {
        free(path);
        free(rel);
        return 0;
    }
    char *shown = scan_short(path);
    scan_emit(out, path, rel, VB_ERR_IO,
              dir ? "folder deeper than the system allows for a path (PATH_MAX, %d bytes): "
                    "not walked: %s"
                  : "path longer than the system allows (PATH_MAX, %d bytes): %s",
              PATH_MAX, shown);
    free(shown);
    return 1;
}

/* Take the next name of the innermost folder. Returns 1 with *out filled,
 * or 0 when the step produced no entry (call again). */
static int scan_step(scanner *s, scan_entry *out)
{
    scan_level *top = &s->stack[s->depth - 1];
    if (top->i == top->n) {
        scan_level_free(top);
        s->depth--;
        return 0;
    }
    const char *name = top->names[top->i++];
    const input_config *in = s->in;
    char *path = util_path_join(top->path, name);
    char *rel = top->rel ? util_path_join(top->rel, name) : vb_xstrdup(name);
    bool match = pattern_match(&in->patterns, &in->exclude, rel);
    struct stat st;

    if (strlen(path) >= PATH_MAX)
        return scan_too_long(s, top, name, match, path, rel, out);
    if (lstat(path, &st) != 0) {
        /* Removed since the folder was read. */
        int err = errno;
        if (err == ENAMETOOLONG)
            return scan_too_long(s, top, name, match, path, rel, out);
        if (match)
            return scan_emit(out, path, rel, VB_ERR_IO, "cannot read %s: %s",
                             path, strerror(err));
        goto skip;
    }
    bool link = S_ISLNK(st.st_mode);
    if (link && stat(path, &st) != 0) {
        int err = errno;
        if (!match)
            goto skip;
        if (err == ENOENT)
            return scan_emit(out, path, rel, VB_ERR_IO,
                             "dangling symbolic link (target missing)");
        if (err == ELOOP)
            return scan_emit(out, path, rel, VB_ERR_IO, "symbolic link loop");
        return scan_emit(out, path, rel, VB_ERR_IO, "cannot read %s: %s",
                         path, strerror(err));
    }
    /* A link that would be followed: refused if it leads outside. */
    if (link && in->outside_links == OUTSIDE_REFUSE &&
        (S_ISDIR(st.st_mode) ? s->walk && !scan_skipped(s, &st) : match)) {
        int got = scan_outside(s, path, rel, out);
        if (got) {
            free(path);
            free(rel);
            return got;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        /* An earlier run's output (its items link the inputs) is never
         * input again. */
        if (scan_skipped(s, &st) || (s->walk && scan_is_output(path)) ||
            pattern_excluded_dir(&in->exclude, rel))
            goto skip;
        if (!s->walk) {
            if (match)
                return scan_emit(out, path, rel, VB_ERR_MEDIA,
                                 "is a directory, not a video file");
            goto skip;
        }
        const scan_level *anc = scan_on_stack(s, &st);
        if (anc) {
            if (!scan_new_loop(s, &st))
                goto skip;
            return scan_emit(out, path, rel, VB_ERR_IO,
                             "symbolic link loop: %s leads back to %s", path,
                             anc->path);
        }
        if (scan_push(s, path, rel) != 0) {
            int err = errno;
            return scan_emit(out, path, rel, VB_ERR_IO, "cannot read %s: %s",
                             path, strerror(err));
        }
        goto skip;
    }
    if (!match)
        goto skip;
    if (S_ISREG(st.st_mode))
        return scan_emit(out, path, rel, 0, NULL);
    return scan_emit(out, path, rel, VB_ERR_MEDIA, "not a regular file");

skip:
    free(path);
    free(rel);
    return 0;
}

/* A PATH argument or a path line of a list file. Returns 1 with *out
 * filled, or 0 when it is a folder now being walked (or skipped). */
static int scan_root_path(scanner *s, const char *p, scan_entry *out)
{
    struct stat st;
    if (stat(p, &st) != 0) {
        int err = errno;
        return scan_emit(out, vb_xstrdup(p), util_basename(p), VB_ERR_IO,
                         "cannot read %s: %s", p, strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        /* A folder named is walked, whatever it is (process refuses an
         * output folder equal to it: scan_check_output). */
        if (scan_push(s, p, NULL) != 0) {
            int err = errno;
            return scan_emit(out, vb_xstrdup(p), util_basename(p), VB_ERR_IO,
                             "cannot read %s: %s", p, strerror(err));
        }
        return 0;
    }
    /* Named explicitly: taken whatever the patterns say. A FIFO or device
     * is refused rather than opened (it could block). */
    if (!S_ISREG(st.st_mode))
        return scan_emit(out, vb_xstrdup(p), util_basename(p), VB_ERR_MEDIA,
                         "not a regular file");
    return scan_emit(out, vb_xstrdup(p), util_basename(p), 0, NULL);
}

/* "ftp://..." and the like: a scheme followed by "://". */
static bool scan_has_scheme(const char *s)
{
    if (!isalpha((unsigned char)s[0]))
        return false;
    size_t n = 1;
    while (isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '-' ||
           s[n] == '.')
        n++;
    return strncmp(s + n, "://", 3) == 0;
}

/* One line of a list file. Returns 1 with *out filled, 0 otherwise. */
static int scan_list_line(scanner *s, char *line, scan_entry *out)
{
    /* NUL-separated (find -print0): the name exactly as given, any byte
     * but NUL its own; no comments. */
    if (s->in->lists_null && *line == '\0')
        return 0;
    size_t n = strlen(line);
    while (!s->in->lists_null && n > 0 && isspace((unsigned char)line[n - 1]))
        n--;
    line[n] = '\0';
    while (!s->in->lists_null && isspace((unsigned char)*line))
        line++;
    if (*line == '\0' || (!s->in->lists_null && *line == '#'))
        return 0;
    if (util_is_url(line)) {
        scan_emit(out, vb_xstrdup(line), util_url_basename(line), 0, NULL);
        out->is_url = true;
        return 1;
    }
    if (s->urls_only)
        return 0;
    if (scan_has_scheme(line))
        return scan_emit(out, vb_xstrdup(line), util_url_basename(line),
                         VB_ERR_USAGE, "only http and https URLs are supported");
    return scan_root_path(s, line, out);
}

/* The next line of the list into s->line (without its newline): 1, 2
 * when it is longer than SCAN_LINE_MAX (the rest of it is read past,
 * s->line holds its start and s->longlen its length), 0 at the end, -1
 * with e set on a read error or a NUL byte (not a text list: /dev/zero
 * or a video given as a list), which ends the list. */
static int scan_read_line(scanner *s, vb_error *e)
{
    if (!s->line)
        s->line = vb_xmalloc(SCAN_LINE_MAX + 1);
    FILE *f = s->list;
    size_t n = 0;
    long long total = 0;
    int c, end = s->in->lists_null ? '\0' : '\n';
    errno = 0;
    while ((c = getc_unlocked(f)) != EOF && c != end) {
        if (c == '\0')
            return vb_fail(e, VB_ERR_USAGE, "cannot read list %s: line %lld holds a NUL "
                           "byte: not a text file of paths and URLs", s->listpath,
                           s->lineno + 1);
        if (n < SCAN_LINE_MAX)
            s->line[n++] = (char)c;
        total++;
    }
    if (c == EOF && ferror(f)) {
        int err = errno ? errno : EIO;
        return vb_fail(e, VB_ERR_USAGE, "cannot read list %s: %s", s->listpath,
                       strerror(err));
    }
    if (c == EOF && total == 0)
        return 0;
    s->line[n] = '\0';
    s->lineno++;
    if (total > SCAN_LINE_MAX) {
        s->longlen = total;
        return 2;
    }
    return 1;
}

/* A list line over the limit: an item error that names the line and
 * shows only its start, so the line itself goes nowhere. */
static int scan_long_line(scanner *s, scan_entry *out)
{
    /* Its first 40 bytes; a sequence cut there, or any bytes that are not
     * UTF-8, become '?'. */
    char *head = msg_printable(vb_xstrndup(s->line, 40));
    char *start = util_utf8_sanitize(head);
    free(head);
    char *src = vb_xasprintf("%s:%lld", s->listpath, s->lineno);
    int rc = scan_emit(out, src, vb_xasprintf("line-%lld", s->lineno), VB_ERR_LIMIT,
                       "line %lld of list %s is %lld bytes long, more than a list line may "
                       "hold (%d): not read (it starts \"%s...\")", s->lineno, s->listpath,
                       s->longlen, SCAN_LINE_MAX, start);
    free(start);
    return rc;
}

static int scan_next_any(scanner *s, scan_entry *out, vb_error *e);

int scan_next(scanner *s, scan_entry *out, vb_error *e)
{
    for (;;) {
        int got = scan_next_any(s, out, e);
        /* Another shard's entry is passed over before anything looks at
         * it (its folder, the journal). */
        if (got <= 0 || shard_owns(&s->shard, out->rel ? out->rel : out->path))
            return got;
        s->others++;
        scan_entry_clear(out);
    }
}

void scan_set_shard(scanner *s, int k, int n)
{
    s->shard = (shard){ k, n };
}

long long scan_other_shards(const scanner *s)
{
    return s->others;
}

static int scan_next_any(scanner *s, scan_entry *out, vb_error *e)
{
    memset(out, 0, sizeof(*out));
    for (;;) {
        if (s->depth > 0) {
            if (scan_step(s, out))
                return 1;
            continue;
        }
        if (s->list) {
            int got = scan_read_line(s, e);
            if (got <= 0) {
                if (s->list != stdin)
                    fclose(s->list);
                s->list = NULL;
                if (got < 0)
                    return -1;
                continue;
            }
            if (got == 2) {
                if (s->urls_only)
                    continue;
                return scan_long_line(s, out);
            }
            if (scan_list_line(s, s->line, out))
                return 1;
            continue;
        }
        if (s->iroot == s->nroots)
            return 0;
        scan_root *r = &s->roots[s->iroot++];
        if (r->is_list) {
            /* "-": standard input, read once. */
            bool in = strcmp(r->path, "-") == 0;
            s->list = in ? stdin : fopen(r->path, "r");
            if (!s->list) {
                int err = errno;
                return vb_fail(e, VB_ERR_USAGE, "cannot read list %s: %s",
                               r->path, strerror(err));
            }
            free(s->listpath);
            s->listpath = vb_xstrdup(in ? "(standard input)" : r->path);
            s->lineno = 0;
            continue;
        }
        /* A URL given as a PATH is downloaded like a listed one. */
        if (util_is_url(r->path)) {
            scan_emit(out, vb_xstrdup(r->path), util_url_basename(r->path), 0, NULL);
            out->is_url = true;
            return 1;
        }
        if (!s->urls_only && scan_root_path(s, r->path, out))
            return 1;
    }
}
