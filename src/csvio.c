/* csvio.c - CSV through libcsv, the only file that uses it: a streaming
 * reader that hands out one record at a time with the physical line it
 * starts on, and the field quoting the CSV report writer needs.
 *
 * libcsv does not count lines. We feed it one physical line at a time
 * and look, before each line, whether it is between records (its parser
 * state is "row not begun", 0): if so, a record starting in this line
 * starts here. Quoted fields holding line breaks therefore still give
 * their record's first line, which is what a user looks for. */
#include "config.h"
#include "csvio.h"

#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CSVIO_CHUNK (64 * 1024)
#define ROW_NOT_BEGUN 0 /* libcsv's parser state between records */

typedef struct reader {
    struct csv_parser p;
    csvio_record_fn fn;
    void *ud;
    const char *origin;
    int line;             /* physical line being fed, 1-based */
    int rec_line;         /* line where the current record started */
    bool line_start;      /* the next byte fed starts a line */
    bool bom_checked;
    /* fields of the current record: bytes in `arena`, offsets in `off` */
    char *arena;
    size_t alen, acap;
    size_t *off, *len;
    size_t n, cap;
    int stop;             /* callback's non-zero return */
    bool failed;          /* error set in e */
    vb_error *e;
} reader;

static void rd_field(void *s, size_t len, void *data)
{
    reader *r = data;
    if (r->stop || r->failed)
        return;
    if (len > CSVIO_MAX_FIELD) {
        r->failed = true;
        vb_fail(r->e, VB_ERR_USAGE, "%s:%d: a field is longer than %d bytes", r->origin,
                r->rec_line, CSVIO_MAX_FIELD);
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->off = vb_xrealloc(r->off, r->cap * sizeof *r->off);
        r->len = vb_xrealloc(r->len, r->cap * sizeof *r->len);
    }
    if (r->alen + len + 1 > r->acap) {
        while (r->alen + len + 1 > r->acap)
            r->acap = r->acap ? 2 * r->acap : 4096;
        r->arena = vb_xrealloc(r->arena, r->acap);
    }
    if (len)
        memcpy(r->arena + r->alen, s, len);
    r->arena[r->alen + len] = '\0';
    r->off[r->n] = r->alen;
    r->len[r->n] = len;
    r->n++;
    r->alen += len + 1;
}

static void rd_record(int c, void *data)
{
    (void)c;
    reader *r = data;
    if (!r->stop && !r->failed) {
        csvio_field *f = vb_xcalloc(r->n ? r->n : 1, sizeof *f);
        for (size_t i = 0; i < r->n; i++) {
            f[i].s = r->arena + r->off[i];
            f[i].len = r->len[i];
        }
        r->stop = r->fn(r->rec_line, f, r->n, r->ud);
        free(f);
    }
    r->n = 0;
    r->alen = 0;
}

static int rd_parse_error(reader *r)
{
    r->failed = true;
    int code = csv_error(&r->p);
    if (code == CSV_EPARSE)
        return vb_fail(r->e, VB_ERR_USAGE,
                       "%s:%d: malformed CSV: a quote inside an unquoted field, or text "
                       "after a closing quote (quote the field and double its quotes)",
                       r->origin, r->line);
    return vb_fail(r->e, VB_ERR_INTERNAL, "%s:%d: %s", r->origin, r->line,
                   csv_strerror(code));
}

/* Feed bytes, one physical line at a time (see the top of the file). */
static int rd_feed(reader *r, const char *data, size_t len)
{
    if (!r->bom_checked) {
        r->bom_checked = true;
        if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
            data += 3;
            len -= 3;
        }
    }
    while (len > 0 && !r->stop && !r->failed) {
        const char *nl = memchr(data, '\n', len);
        size_t seg = nl ? (size_t)(nl - data) + 1 : len;
        if (r->line_start && r->p.pstate == ROW_NOT_BEGUN)
            r->rec_line = r->line;
        r->line_start = false;
        if (csv_parse(&r->p, data, seg, rd_field, rd_record, r) != seg && !r->stop &&
            !r->failed)
            return rd_parse_error(r);
        if (r->failed)
            return -1;
        /* libcsv buffers the field it is in: bound that too */
        if (csv_get_buffer_size(&r->p) > (size_t)CSVIO_MAX_FIELD + CSVIO_CHUNK) {
            r->failed = true;
            return vb_fail(r->e, VB_ERR_USAGE, "%s:%d: a field is longer than %d bytes",
                           r->origin, r->rec_line, CSVIO_MAX_FIELD);
        }
        if (nl) {
            r->line++;
            r->line_start = true;
        }
        data += seg;
        len -= seg;
    }
    return r->failed ? -1 : 0;
}

static int rd_begin(reader *r, const char *origin, csvio_record_fn fn, void *ud, vb_error *e)
{
    memset(r, 0, sizeof *r);
    /* Strict: a stray quote is an error, not silently kept; STRICT_FINI:
     * a quoted field still open at the end of the file too. */
    if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return vb_fail(e, VB_ERR_INTERNAL, "cannot start the CSV parser");
    r->fn = fn;
    r->ud = ud;
    r->origin = origin;
    r->line = 1;
    r->rec_line = 1;
    r->line_start = true;
    r->e = e;
    return 0;
}

static int rd_end(reader *r, int rc)
{
    if (rc == 0 && !r->stop && !r->failed) {
        if (csv_fini(&r->p, rd_field, rd_record, r) != 0) {
            if (csv_error(&r->p) == CSV_EPARSE)
                rc = vb_fail(r->e, VB_ERR_USAGE,
                             "%s:%d: malformed CSV: a quoted field is not closed",
                             r->origin, r->rec_line);
            else
                rc = vb_fail(r->e, VB_ERR_INTERNAL, "%s: %s", r->origin,
                             csv_strerror(csv_error(&r->p)));
        } else if (r->failed) {
            rc = -1;
        }
    }
    if (rc == 0 && r->stop)
        rc = r->stop;
    csv_free(&r->p);
    free(r->arena);
    free(r->off);
    free(r->len);
    return rc;
}

int csvio_read_mem(const char *data, size_t len, const char *origin,
                   csvio_record_fn fn, void *ud, vb_error *e)
{
    reader r;
    if (rd_begin(&r, origin, fn, ud, e) != 0)
        return -1;
    int rc = rd_feed(&r, data, len);
    return rd_end(&r, rc);
}

int csvio_read_file(const char *path, csvio_record_fn fn, void *ud, vb_error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vb_fail(e, VB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    reader r;
    if (rd_begin(&r, path, fn, ud, e) != 0) {
        fclose(f);
        return -1;
    }
    char *buf = vb_xmalloc(CSVIO_CHUNK);
    int rc = 0;
    size_t got;
    while (rc == 0 && !r.stop && (got = fread(buf, 1, CSVIO_CHUNK, f)) > 0)
        rc = rd_feed(&r, buf, got);
    if (rc == 0 && !r.stop && ferror(f))
        rc = vb_fail(e, VB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    free(buf);
    fclose(f);
    return rd_end(&r, rc);
}

int csvio_write_field(FILE *out, const char *s, size_t len)
{
    return csv_fwrite(out, s ? s : "", s ? len : 0) == 0 ? 0 : -1;
}

#define CSVIO_STR(x) #x
#define CSVIO_XSTR(x) CSVIO_STR(x)

const char *csvio_version(void)
{
    return CSVIO_XSTR(CSV_MAJOR) "." CSVIO_XSTR(CSV_MINOR) "." CSVIO_XSTR(CSV_RELEASE);
}
