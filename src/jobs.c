/* jobs.c - JOBS.csv for `vbatch generate`: rows read through csvio.c,
 * [generate] defaults applied to empty cells, every value checked, and
 * every problem collected with its file, line and row, so that a user
 * fixes the whole file in one pass and nothing is submitted before it is
 * right. Also the canonical form of a request (jansson, sorted keys),
 * which names a request independently of its row and id: the engine
 * derives external_task_id from it, and identical rows are made once.
 *
 * A JOBS.csv may come from someone else, and an image cell names a file
 * whose bytes are sent to the API: only files whose real path lies under
 * the CSV's folder (or a folder the user allows with --images-from) are
 * taken; a job naming another is refused, and that file never read.
 *
 * Memory is per job (a few strings); a row is not kept once parsed. */
#include "config.h"
#include "jobs.h"
#include "shard.h"
#include "msg.h"
#include "csvio.h"
#include "jsonx.h"
#include "provider.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum column {
    COL_ID, COL_PROMPT, COL_NEGATIVE, COL_MODEL, COL_DURATION, COL_ASPECT, COL_MODE,
    COL_CFG, COL_IMAGE, COL_TAIL, COL_COUNT,
};

static const char *const column_names[COL_COUNT] = {
    "id", "prompt", "negative_prompt", "model", "duration", "aspect_ratio", "mode",
    "cfg_scale", "image", "image_tail",
};

static int column_find(const char *name)
{
    for (int i = 0; i < COL_COUNT; i++)
        if (strcasecmp(column_names[i], name) == 0)
            return i;
    return -1;
}

const char *jobs_kind_name(int kind)
{
    return kind == GEN_I2V ? "i2v" : "t2v";
}

/* ---- errors ---- */

static void add_error(gen_jobs *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_error(gen_jobs *j, const char *fmt, ...)
{
    j->nerrors++;
    if (j->errors.n >= JOBS_MAX_ERRORS)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = vb_xvasprintf(fmt, ap);
    va_end(ap);
    /* A message goes to a terminal: no raw control bytes from the file. */
    char *clean = util_utf8_sanitize(msg_printable(m));
    vb_strlist_add(&j->errors, clean);
    free(clean);
    free(m);
}

/* ---- cells ---- */

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/* Copy of s without surrounding white space. */
static char *trimmed(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return vb_xstrndup(s, n);
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* "a short excerpt" of a value for a message. */
static void excerpt(char *buf, size_t len, const char *s)
{
    size_t n = strlen(s);
    if (n + 1 <= len) {
        memcpy(buf, s, n + 1);
        return;
    }
    /* cut on a character boundary, then mark the cut */
    size_t k = len > 4 ? len - 4 : 0;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    memcpy(buf, s, k);
    strcpy(buf + k, "...");
}

/* Whole seconds, 1 to JOBS_MAX_DURATION: which ones a model makes is the
 * provider's question (5 or 10 on older Kling models, 3 to 15 on v3). */
static int parse_duration(const char *s, int *out, vb_error *e)
{
    char *t = trimmed(s);
    int v = 0;
    size_t n = strspn(t, "0123456789");
    if (n > 0 && n <= 2 && t[n] == '\0')
        v = atoi(t);
    free(t);
    if (v < 1 || v > JOBS_MAX_DURATION)
        return vb_fail(e, VB_ERR_USAGE, "'%s' is not a whole number of seconds from 1 to %d",
                       s, JOBS_MAX_DURATION);
    *out = v;
    return 0;
}

static int parse_cfg(const char *s, double *out, vb_error *e)
{
    char *t = trimmed(s);
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    /* plain decimals only: strtod would also take "nan", "inf", hex */
    bool plain = t[0] && strspn(t, "0123456789.+-eE") == strlen(t);
    bool ok = plain && *end == '\0' && errno == 0 && isfinite(v);
    free(t);
    if (!ok)
        return vb_fail(e, VB_ERR_USAGE, "'%s' is not a number", s);
    if (v < 0 || v > 1)
        return vb_fail(e, VB_ERR_USAGE, "'%s' is not between 0 and 1", s);
    *out = v;
    return 0;
}

/* "W:H" with whole numbers. Which ratios a model makes is the
 * provider's business; this is the shape. */
static int check_aspect(const char *s, vb_error *e)
{
    char *t = trimmed(s);
    unsigned a = 0, b = 0;
    int used = 0;
    bool ok = sscanf(t, "%u:%u%n", &a, &b, &used) == 2 && (size_t)used == strlen(t) &&
              isdigit((unsigned char)t[0]) && a > 0 && b > 0 && a <= 100 && b <= 100;
    free(t);
    if (!ok)
        return vb_fail(e, VB_ERR_USAGE, "'%s' is not an aspect ratio such as 16:9", s);
    return 0;
}

/* A local path or an http(s) URL; another scheme is a mistake. */
static int check_image_ref(const char *s, vb_error *e)
{
    if (has_control(s))
        return vb_fail(e, VB_ERR_USAGE, "holds a control character");
    if (util_is_url(s))
        return 0;
    const char *colon = strstr(s, "://");
    if (colon) {
        bool scheme = colon > s;
        for (const char *p = s; p < colon; p++)
            if (!isalnum((unsigned char)*p) && !strchr("+-.", *p))
                scheme = false;
        if (scheme)
            return vb_fail(e, VB_ERR_USAGE,
                           "'%.*s' URLs are not supported (a local path or an http(s) URL)",
                           (int)(colon - s), s);
    }
    return 0;
}

int jobs_check_cell(const char *column, const char *value, vb_error *e)
{
    int c = column_find(column);
    if (c < 0)
        return vb_fail(e, VB_ERR_INTERNAL, "unknown column '%s'", column);
    if (util_utf8_chars(value) < 0)
        return vb_fail(e, VB_ERR_USAGE, "not valid UTF-8");
    int d;
    double x;
    switch (c) {
    case COL_ID:
        if (strlen(value) > JOBS_MAX_ID)
            return vb_fail(e, VB_ERR_USAGE, "longer than %d bytes", JOBS_MAX_ID);
        if (has_control(value))
            return vb_fail(e, VB_ERR_USAGE, "holds a control character");
        return 0;
    case COL_MODEL:
    case COL_MODE: {
        char *t = trimmed(value);
        bool ok = *t != '\0';
        /* A model may be a path (fal's "fal-ai/kling-video/v2.6/..."). */
        for (const char *p = t; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr(c == COL_MODEL ? "-_./" : "-_.", *p))
                ok = false;
        if (ok && c == COL_MODEL && (t[0] == '/' || strstr(t, "//") || strstr(t, "..")))
            ok = false;
        if (ok && c == COL_MODE && strcmp(t, "std") != 0 && strcmp(t, "pro") != 0) {
            free(t);
            return vb_fail(e, VB_ERR_USAGE, "'%s' is not std or pro", value);
        }
        free(t);
        if (!ok)
            return vb_fail(e, VB_ERR_USAGE, "'%s' is not a %s name", value,
                           c == COL_MODE ? "mode" : "model");
        return 0;
    }
    case COL_DURATION:
        return parse_duration(value, &d, e);
    case COL_ASPECT:
        return check_aspect(value, e);
    case COL_CFG:
        return parse_cfg(value, &x, e);
    case COL_IMAGE:
    case COL_TAIL:
        return check_image_ref(value, e);
    default: /* prompt, negative_prompt: any text */
        return 0;
    }
}

/* ---- rows ---- */

/* A string and an index, sorted to find equal strings in n log n
 * (thousands of rows). */
typedef struct str_ix {
    char *s;
    size_t i;
} str_ix;

static int cmp_str_ix(const void *a, const void *b)
{
    const str_ix *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

#define COL_NONAME (-2) /* a header cell left empty */

typedef struct load_ctx {
    gen_jobs *out;
    const char *origin;
    const char *base_dir;          /* for relative image paths, NULL = cwd */
    char **roots;                  /* real paths local images must lie under */
    size_t nroots;
    const char *roots_text;        /* them, for messages */
    const generate_config *d;
    const vb_config *config;
    const provider *p;             /* NULL: no provider checks */
    str_ix *ids;                   /* every row's id, valid rows or not */
    int *id_line, *id_row;
    size_t nids;
    bool header_done;
    bool header_bad;               /* rows are still checked, against the known columns */
    bool no_columns;               /* ...unless it names none: rows can not be read */
    int *colmap;                   /* field index -> enum column, -1 unknown */
    size_t ncols;
    int row;                       /* records seen, header included */
} load_ctx;

static void header(load_ctx *x, int line, const csvio_field *f, size_t n)
{
    x->colmap = vb_xcalloc(n ? n : 1, sizeof *x->colmap);
    x->ncols = n;
    bool seen[COL_COUNT] = { false };
    size_t named = 0;
    for (size_t i = 0; i < n; i++) {
        x->colmap[i] = -1;
        char *name = trimmed(f[i].s);
        int c = strlen(f[i].s) == f[i].len ? column_find(name) : -1;
        if (!*name) {
            /* Spreadsheets export trailing empty columns: a nameless
             * column is fine as long as its cells are empty (job_row). */
            x->colmap[i] = COL_NONAME;
        } else if (c < 0) {
            char ex[64];
            excerpt(ex, sizeof ex, name);
            add_error(x->out, "%s:%d: unknown column '%s' (the first row names the "
                      "columns: id, prompt, negative_prompt, model, duration, aspect_ratio, "
                      "mode, cfg_scale, image, image_tail)", x->origin, line, ex);
            x->header_bad = true;
        } else if (seen[c]) {
            add_error(x->out, "%s:%d: column '%s' appears twice in the header", x->origin,
                      line, column_names[c]);
            x->header_bad = true;
        } else {
            seen[c] = true;
            x->colmap[i] = c;
            named++;
        }
        free(name);
    }
    if (n > 0 && named == 0 && !x->header_bad) {
        add_error(x->out, "%s:%d: the first row names no column (it must name the columns: "
                  "id, prompt, ...)", x->origin, line);
        x->header_bad = true;
        x->no_columns = true;
    }
}

/* Resolve a local image reference and check that it is a readable file:
 * its real path, or NULL with e set (a missing file: an error of the
 * file) or *outside set (a file outside the roots: the job is refused). */
static char *local_image(load_ctx *x, const char *ref, bool *outside, vb_error *e)
{
    *outside = false;
    char *path = (ref[0] == '/' || !x->base_dir) ? vb_xstrdup(ref)
                                                 : util_path_join(x->base_dir, ref);
    struct stat st;
    char *real = NULL;
    if (stat(path, &st) != 0) {
        vb_fail(e, VB_ERR_USAGE, "'%s': %s", ref, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        vb_fail(e, VB_ERR_USAGE, "'%s' is not a regular file", ref);
    } else if (!(real = realpath(path, NULL))) {
        vb_fail(e, VB_ERR_USAGE, "'%s': %s", ref, strerror(errno));
    } else {
        for (size_t i = 0; i < x->nroots; i++)
            if (util_path_within(real, x->roots[i])) {
                free(path);
                return real;
            }
        *outside = true;
        vb_fail(e, VB_ERR_USAGE, "'%s' is outside %s: an image is sent only from there "
                "(--images-from DIR allows another folder)", ref, x->roots_text);
        free(real);
    }
    free(path);
    return NULL;
}

/* The default of a column from [generate] (the model: the provider's
 * own setting when it has one), NULL if none. */
static const char *column_default(const load_ctx *x, int c)
{
    const generate_config *d = x->d;
    const char *v = NULL;
    switch (c) {
    case COL_NEGATIVE: v = d->negative_prompt; break;
    case COL_MODEL:
        v = x->p && x->p->default_model && x->config ? x->p->default_model(x->config) : NULL;
        if (!v || !*v)
            v = d->model;
        break;
    case COL_DURATION: v = d->duration; break;
    case COL_ASPECT:   v = d->aspect_ratio; break;
    case COL_MODE:     v = d->mode; break;
    case COL_CFG:      v = d->cfg_scale; break;
    default: break;
    }
    return v && *v ? v : NULL;
}

/* The value of each column of a row: the cell, else the [generate]
 * default. Problems of single cells go to out->errors; bad[c]: the value
 * of column c is not well-formed. */
static void job_row_values(load_ctx *x, const char *where, const csvio_field *f, size_t n,
                           const char *val[COL_COUNT], bool bad[COL_COUNT])
{
    gen_jobs *out = x->out;
    bool from_default[COL_COUNT] = { false };
    for (size_t i = 0; i < n; i++) {
        int c = x->colmap[i];
        if (c == COL_NONAME && !blank(f[i].s)) {
            add_error(out, "%s:%s: cell %zu holds a value, but the header names no column "
                      "there", x->origin, where, i + 1);
            continue;
        }
        if (c < 0)
            continue;
        if (strlen(f[i].s) != f[i].len) {
            add_error(out, "%s:%s: %s: holds a NUL byte", x->origin, where, column_names[c]);
            continue;
        }
        if (!blank(f[i].s))
            val[c] = f[i].s;
    }
    bool i2v = val[COL_IMAGE] != NULL;
    for (int c = 0; c < COL_COUNT; c++) {
        /* The image gives an image-to-video clip its shape: no default
         * aspect ratio there, only one the row asks for. */
        if (!val[c] && column_default(x, c) && !(c == COL_ASPECT && i2v)) {
            val[c] = column_default(x, c);
            from_default[c] = true;
        }
        vb_error ce = { 0 };
        if (val[c] && jobs_check_cell(column_names[c], val[c], &ce) != 0) {
            bad[c] = true;
            add_error(out, "%s:%s: %s: %s%s", x->origin, where, column_names[c], ce.msg,
                      from_default[c] ? " (the [generate] default)" : "");
        }
    }
}

/* What the row as a whole lacks: a prompt, a first frame, a value with
 * no default. */
static void job_row_missing(load_ctx *x, const char *where, const char *const val[COL_COUNT])
{
    gen_jobs *out = x->out;
    bool i2v = val[COL_IMAGE] != NULL;
    if (!val[COL_PROMPT] && !i2v)
        add_error(out, "%s:%s: prompt: empty (a row without an image is text-to-video "
                  "and needs a prompt)", x->origin, where);
    if (val[COL_TAIL] && !i2v)
        add_error(out, "%s:%s: image_tail without image (the tail frame needs a first "
                  "frame)", x->origin, where);
    static const int required[] = { COL_MODEL, COL_DURATION, COL_MODE };
    for (size_t k = 0; k < VB_ARRAY_LEN(required); k++)
        if (!val[required[k]])
            add_error(out, "%s:%s: %s: empty and no [generate] default", x->origin, where,
                      column_names[required[k]]);
    if (!i2v && !val[COL_ASPECT])
        add_error(out, "%s:%s: aspect_ratio: empty and no [generate] default", x->origin,
                  where);
}

/* Every row's id is kept, to find duplicates even among rows with
 * errors. Returns it (owned by x). */
static const char *job_row_id(load_ctx *x, int line, const char *cell)
{
    char *id = cell ? trimmed(cell) : vb_xasprintf("row-%d", x->row);
    x->ids = vb_xrealloc(x->ids, (x->nids + 1) * sizeof *x->ids);
    x->id_line = vb_xrealloc(x->id_line, (x->nids + 1) * sizeof *x->id_line);
    x->id_row = vb_xrealloc(x->id_row, (x->nids + 1) * sizeof *x->id_row);
    x->ids[x->nids].s = id;
    x->ids[x->nids].i = x->nids;
    x->id_line[x->nids] = line;
    x->id_row[x->nids] = x->row;
    x->nids++;
    return id;
}

/* The local images of the row, as real paths into j; one outside the
 * folders allowed makes the job refused. */
static void job_row_images(load_ctx *x, const char *where, const char *const val[COL_COUNT],
                           const bool bad[COL_COUNT], gen_job *j)
{
    static const int images[] = { COL_IMAGE, COL_TAIL };
    for (size_t k = 0; k < VB_ARRAY_LEN(images); k++) {
        const char *ref = val[images[k]];
        if (!ref || util_is_url(ref) || bad[images[k]])
            continue;
        vb_error ie = { 0 };
        bool outside;
        char *p = local_image(x, ref, &outside, &ie);
        if (!p && outside) {
            /* Refused, not an error of the file: the other jobs go on. */
            if (!j->refused)
                j->refused = vb_xasprintf("%s:%s: %s: %s", x->origin, where,
                                          column_names[images[k]], ie.msg);
        } else if (!p) {
            add_error(x->out, "%s:%s: %s: %s", x->origin, where, column_names[images[k]],
                      ie.msg);
        }
        if (images[k] == COL_IMAGE)
            j->image_file = p;
        else
            j->image_tail_file = p;
    }
}

/* The request's fields from well-formed values. */
static void job_row_fill(gen_job *j, const char *id, const char *const val[COL_COUNT])
{
    j->id = vb_xstrdup(id);
    j->prompt = val[COL_PROMPT] ? vb_xstrdup(val[COL_PROMPT]) : NULL;
    j->negative_prompt = val[COL_NEGATIVE] ? vb_xstrdup(val[COL_NEGATIVE]) : NULL;
    j->model = trimmed(val[COL_MODEL]);
    parse_duration(val[COL_DURATION], &j->duration, NULL);
    j->aspect_ratio = val[COL_ASPECT] ? trimmed(val[COL_ASPECT]) : NULL;
    j->mode = trimmed(val[COL_MODE]);
    if (val[COL_CFG])
        parse_cfg(val[COL_CFG], &j->cfg_scale, NULL);
    j->image = val[COL_IMAGE] ? trimmed(val[COL_IMAGE]) : NULL;
    j->image_tail = val[COL_TAIL] ? trimmed(val[COL_TAIL]) : NULL;
}

static int job_row(load_ctx *x, int line, const csvio_field *f, size_t n)
{
    gen_jobs *out = x->out;
    bool empty = true;
    for (size_t i = 0; i < n; i++)
        if (!blank(f[i].s) || strlen(f[i].s) != f[i].len)
            empty = false;
    if (empty)
        return 0; /* ",,,," from a spreadsheet: nothing asked */
    char where[64];
    snprintf(where, sizeof where, "%d (row %d)", line, x->row);
    if (n != x->ncols) {
        add_error(out, "%s:%s: %zu fields, the header has %zu (a cell holding a comma "
                  "must be quoted)", x->origin, where, n, x->ncols);
        return 0;
    }

    const char *val[COL_COUNT] = { NULL };
    bool bad[COL_COUNT] = { false };
    size_t errs = out->nerrors;
    job_row_values(x, where, f, n, val, bad);
    job_row_missing(x, where, val);
    const char *id = job_row_id(x, line, val[COL_ID]);

    gen_job j = { 0 };
    j.line = line;
    j.row = x->row;
    j.duplicate_of = -1;
    j.cfg_scale = NAN;
    j.kind = val[COL_IMAGE] ? GEN_I2V : GEN_T2V;
    job_row_images(x, where, val, bad, &j);
    if (out->nerrors > errs) {
        jobs_job_clear(&j);
        return 0;
    }
    job_row_fill(&j, id, val);
    /* The provider is asked only about well-formed rows. */
    vb_error pe = { 0 };
    if (x->p && x->p->validate(&j, x->config, &pe) != 0) {
        add_error(out, "%s:%s: %s", x->origin, where, pe.msg);
        jobs_job_clear(&j);
        return 0;
    }
    out->v = vb_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
    out->v[out->n++] = j;
    return 0;
}

static int on_record(int line, const csvio_field *f, size_t n, void *ud)
{
    load_ctx *x = ud;
    x->row++;
    if (!x->header_done) {
        x->header_done = true;
        header(x, line, f, n);
        return 0;
    }
    return x->no_columns ? 0 : job_row(x, line, f, n);
}

/* Ids name folders and rows of the reports: each once. */
static void check_ids(load_ctx *x)
{
    size_t n = x->nids;
    if (n < 2)
        return;
    /* Sorted by id then position; reported in file order afterwards. */
    qsort(x->ids, n, sizeof *x->ids, cmp_str_ix);
    long *first = vb_xcalloc(n, sizeof *first);
    for (size_t i = 0; i < n; i++)
        first[i] = -1;
    for (size_t i = 1; i < n; i++) {
        size_t a = x->ids[i - 1].i, b = x->ids[i].i;
        if (strcmp(x->ids[i - 1].s, x->ids[i].s) == 0)
            first[b] = first[a] >= 0 ? first[a] : (long)a;
    }
    /* the strings by position, for the messages */
    char **byi = vb_xcalloc(n, sizeof *byi);
    for (size_t i = 0; i < n; i++)
        byi[x->ids[i].i] = x->ids[i].s;
    for (size_t i = 0; i < n; i++)
        if (first[i] >= 0) {
            char ex[64];
            excerpt(ex, sizeof ex, byi[i]);
            add_error(x->out, "%s:%d (row %d): id: '%s' is already the id of line %d (row %d)",
                      x->origin, x->id_line[i], x->id_row[i], ex, x->id_line[first[i]],
                      x->id_row[first[i]]);
        }
    free(byi);
    free(first);
}

static int load(gen_jobs *out, const char *origin, const char *base_dir,
                const vb_strlist *image_dirs, const char *text, size_t len, const vb_config *c,
                const provider *p, vb_error *e)
{
    load_ctx x = { .out = out, .origin = origin, .base_dir = base_dir, .d = &c->generate,
                   .config = c, .p = p };
    /* The roots: the CSV's folder, then the folders allowed. One that
     * does not resolve holds nothing. */
    size_t nd = image_dirs ? image_dirs->n : 0;
    x.roots = vb_xcalloc(nd + 1, sizeof *x.roots);
    char *dir_real = realpath(base_dir ? base_dir : ".", NULL);
    if (dir_real)
        x.roots[x.nroots++] = dir_real;
    for (size_t i = 0; i < nd; i++) {
        char *r = realpath(image_dirs->v[i], NULL);
        if (r)
            x.roots[x.nroots++] = r;
    }
    char *roots_text = vb_xasprintf("the folder of %s (%s)%s", origin,
                                    dir_real ? dir_real : base_dir ? base_dir : ".",
                                    nd ? " and the --images-from folders" : "");
    x.roots_text = roots_text;
    vb_error re = { 0 };
    int rc = text ? csvio_read_mem(text, len, origin, on_record, &x, &re)
                  : csvio_read_file(origin, on_record, &x, &re);
    free(x.colmap);
    if (rc != 0) {
        add_error(out, "%s", re.msg);
    } else if (!x.header_done) {
        add_error(out, "%s: empty: the first row names the columns (at least prompt), "
                  "then one job per row", origin);
    } else if (out->n == 0 && out->nerrors == 0) {
        add_error(out, "%s: no jobs: only a header row", origin);
    }
    check_ids(&x);
    for (size_t i = 0; i < x.nids; i++)
        free(x.ids[i].s);
    free(x.ids);
    free(x.id_line);
    free(x.id_row);
    for (size_t i = 0; i < x.nroots; i++)
        free(x.roots[i]);
    free(x.roots);
    free(roots_text);
    if (out->nerrors == 0)
        return 0;
    return vb_fail(e, VB_ERR_USAGE, "%s", out->errors.v[0]);
}

int jobs_load_from(gen_jobs *out, const char *path, const vb_strlist *image_dirs,
                   const vb_config *c, const provider *p, vb_error *e)
{
    char *dir = NULL;
    const char *slash = strrchr(path, '/');
    if (slash)
        dir = vb_xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
    int rc = load(out, path, dir, image_dirs, NULL, 0, c, p, e);
    free(dir);
    return rc;
}

int jobs_load(gen_jobs *out, const char *path, const vb_config *c, const provider *p,
              vb_error *e)
{
    return jobs_load_from(out, path, NULL, c, p, e);
}

int jobs_load_mem(gen_jobs *out, const char *text, size_t len, const char *origin,
                  const char *base_dir, const vb_config *c, const provider *p, vb_error *e)
{
    return load(out, origin, base_dir, NULL, text, len, c, p, e);
}

/* ---- canonical form ---- */

static json_t *image_ref_json(const char *given, const char *ref, const char *file)
{
    if (given)
        return json_string(given);
    if (file) {
        char *real = realpath(file, NULL);
        json_t *s = json_string(real ? real : file);
        free(real);
        return s;
    }
    return json_string(ref);
}

char *jobs_canonical(const gen_job *j, const char *provider_name, const char *image_ref,
                     const char *tail_ref)
{
    json_t *o = json_object();
    json_object_set_new(o, "provider", json_string(provider_name));
    json_object_set_new(o, "kind", json_string(jobs_kind_name(j->kind)));
    json_object_set_new(o, "model", json_string(j->model));
    json_object_set_new(o, "mode", json_string(j->mode));
    json_object_set_new(o, "duration", json_integer(j->duration));
    if (j->prompt)
        json_object_set_new(o, "prompt", json_string(j->prompt));
    if (j->negative_prompt)
        json_object_set_new(o, "negative_prompt", json_string(j->negative_prompt));
    if (j->aspect_ratio)
        json_object_set_new(o, "aspect_ratio", json_string(j->aspect_ratio));
    if (!isnan(j->cfg_scale))
        json_object_set_new(o, "cfg_scale", json_real(j->cfg_scale));
    if (j->image)
        json_object_set_new(o, "image", image_ref_json(image_ref, j->image, j->image_file));
    if (j->image_tail)
        json_object_set_new(o, "image_tail",
                            image_ref_json(tail_ref, j->image_tail, j->image_tail_file));
    /* Sorted keys, no spaces, ASCII only: the same request gives the same
     * bytes whatever the column order, the platform or jansson's mood. */
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII |
                                JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!s)
        abort(); /* only fails when out of memory (prompts are valid UTF-8) */
    char *r = vb_xstrdup(s);
    free(s);
    return r;
}

size_t jobs_dedupe(gen_jobs *jobs, const char *provider_name)
{
    if (jobs->n == 0)
        return 0;
    str_ix *v = vb_xcalloc(jobs->n, sizeof *v);
    size_t n = 0, unique = 0;
    for (size_t i = 0; i < jobs->n; i++) {
        jobs->v[i].duplicate_of = -1;
        if (jobs->v[i].refused) {
            unique++; /* never made, never made by another */
            continue;
        }
        v[n].s = jobs_canonical(&jobs->v[i], provider_name, NULL, NULL);
        v[n].i = i;
        n++;
    }
    qsort(v, n, sizeof *v, cmp_str_ix);
    size_t first = 0;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && strcmp(v[k].s, v[k - 1].s) == 0) {
            jobs->v[v[k].i].duplicate_of = (long)v[first].i;
        } else {
            first = k;
            unique++;
        }
    }
    for (size_t k = 0; k < n; k++)
        free(v[k].s);
    free(v);
    return unique;
}

void jobs_free(gen_jobs *jobs)
{
    if (!jobs)
        return;
    for (size_t i = 0; i < jobs->n; i++)
        jobs_job_clear(&jobs->v[i]);
    free(jobs->v);
    vb_strlist_clear(&jobs->errors);
    memset(jobs, 0, sizeof *jobs);
}

/* ---- one job: copy, release, the journal's form ---- */

static char *jobs_dup(const char *s)
{
    return s ? vb_xstrdup(s) : NULL;
}

void jobs_job_copy(gen_job *d, const gen_job *s)
{
    *d = *s;
    d->image_file = jobs_dup(s->image_file);
    d->image_tail_file = jobs_dup(s->image_tail_file);
    d->id = jobs_dup(s->id);
    d->prompt = jobs_dup(s->prompt);
    d->negative_prompt = jobs_dup(s->negative_prompt);
    d->model = jobs_dup(s->model);
    d->mode = jobs_dup(s->mode);
    d->aspect_ratio = jobs_dup(s->aspect_ratio);
    d->image = jobs_dup(s->image);
    d->image_tail = jobs_dup(s->image_tail);
    d->refused = jobs_dup(s->refused);
}

void jobs_job_clear(gen_job *j)
{
    free(j->id);
    free(j->prompt);
    free(j->negative_prompt);
    free(j->model);
    free(j->aspect_ratio);
    free(j->mode);
    free(j->image);
    free(j->image_tail);
    free(j->image_file);
    free(j->image_tail_file);
    free(j->refused);
    memset(j, 0, sizeof *j);
}

char *jobs_job_to_json(const gen_job *j)
{
    json_t *o = json_object();
    json_object_set_new(o, "row", json_integer((json_int_t)j->row));
    json_object_set_new(o, "line", json_integer((json_int_t)j->line));
    json_object_set_new(o, "kind", json_integer(j->kind));
    const struct { const char *k; const char *v; } s[] = {
        {"id", j->id}, {"prompt", j->prompt}, {"negative_prompt", j->negative_prompt},
        {"model", j->model}, {"mode", j->mode}, {"aspect_ratio", j->aspect_ratio},
        {"image", j->image}, {"image_tail", j->image_tail},
        {"image_file", j->image_file}, {"image_tail_file", j->image_tail_file},
        {"refused", j->refused},
    };
    for (size_t i = 0; i < VB_ARRAY_LEN(s); i++)
        if (s[i].v)
            json_object_set_new(o, s[i].k, json_string(s[i].v));
    json_object_set_new(o, "duration", json_integer(j->duration));
    if (!isnan(j->cfg_scale))
        json_object_set_new(o, "cfg_scale", json_real(j->cfg_scale));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

int jobs_job_from_json(const char *text, gen_job *j)
{
    json_t *o = json_loads(text, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    memset(j, 0, sizeof *j);
    j->row = (int)jsonx_int(o, "row");
    j->line = (int)jsonx_int(o, "line");
    j->kind = (int)jsonx_int(o, "kind");
    j->image_file = jsonx_dup(o, "image_file");
    j->image_tail_file = jsonx_dup(o, "image_tail_file");
    j->duplicate_of = -1;
    j->id = jsonx_dup(o, "id");
    j->prompt = jsonx_dup(o, "prompt");
    j->negative_prompt = jsonx_dup(o, "negative_prompt");
    j->model = jsonx_dup(o, "model");
    j->mode = jsonx_dup(o, "mode");
    j->aspect_ratio = jsonx_dup(o, "aspect_ratio");
    j->image = jsonx_dup(o, "image");
    j->image_tail = jsonx_dup(o, "image_tail");
    j->refused = jsonx_dup(o, "refused");
    j->duration = (int)jsonx_int(o, "duration");
    j->cfg_scale = jsonx_num(o, "cfg_scale");
    json_decref(o);
    return 0;
}

void jobs_keep_shard(gen_jobs *jobs, const char *provider_name, const shard *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < jobs->n; i++) {
        gen_job *j = &jobs->v[i];
        char *key = j->refused ? vb_xstrdup(j->id ? j->id : "")
                               : jobs_canonical(j, provider_name, NULL, NULL);
        bool mine = shard_owns(s, key);
        free(key);
        if (!mine) {
            jobs_job_clear(j);
            continue;
        }
        if (kept != i)
            jobs->v[kept] = *j;
        kept++;
    }
    jobs->n = kept;
}
