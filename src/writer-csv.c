/* writer-csv.c - CSV back end: the first array is the table, each object
 * in it a row, nested objects flattened with dotted names, nested arrays
 * joined with "; ". Quoting (RFC 4180) is done by libcsv, through csvio.c.
 *
 * The cells hold names and messages from anywhere (a file called
 * "=HYPERLINK(...).mp4"), and spreadsheets run a cell that starts with
 * = + - @ (or tab, CR) as a formula: such a text cell gets a leading '
 * (OWASP's advice on CSV injection). Numbers are written as numbers and
 * never prefixed (-14.2 stays -14.2); a string is, even if it looks like a
 * number. Every cell is quoted, so a separator inside one starts no new
 * cell. */
#include "config.h"
#include "writer-impl.h"
#include "csvio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct cell { char *name, *value; } cell;

typedef struct cw {
    /* depth bookkeeping */
    bool is_array[MAX_DEPTH];
    char *keys[MAX_DEPTH];
    int depth;
    int table_depth;        /* depth of the table array, 0 = none yet */
    bool table_done;
    int row_depth;          /* depth of the current row object, 0 = none */
    int join_depth;         /* depth of a nested array being joined */
    char *join;             /* accumulated joined value */
    size_t join_n;          /* its elements */
    bool join_text;         /* one of them a string */
    /* current row */
    cell *cells;
    size_t ncells;
    /* header */
    char **header;
    size_t nheader;
    bool header_written;
    /* output */
    char *buf;
    size_t len;
    FILE *out;
    bool external;          /* out belongs to the caller */
    char sep;               /* ',' or ';' (spreadsheets of comma-decimal locales) */
    bool bom;               /* a UTF-8 BOM first (Excel reads UTF-8 then) */
} cw;

void *writer_csv_new(FILE *out)
{
    cw *c = vb_xcalloc(1, sizeof *c);
    c->external = out != NULL;
    c->out = out ? out : open_memstream(&c->buf, &c->len);
    if (!c->out)
        abort();
    c->sep = ',';
    return c;
}

void writer_csv_configure(void *priv, char sep, bool bom)
{
    cw *c = priv;
    c->sep = sep;
    c->bom = bom;
}

static char *field_name(cw *c, const char *key)
{
    /* Join the object keys between the row and this field. */
    size_t n = 0;
    for (int d = c->row_depth; d < c->depth; d++)
        if (c->keys[d])
            n += strlen(c->keys[d]) + 1;
    n += (key ? strlen(key) : 0) + 1;
    char *s = vb_xmalloc(n);
    s[0] = '\0';
    for (int d = c->row_depth; d < c->depth; d++)
        if (c->keys[d]) {
            strcat(s, c->keys[d]);
            strcat(s, ".");
        }
    if (key)
        strcat(s, key);
    else if (s[0])
        s[strlen(s) - 1] = '\0';
    return s;
}

static void put_row(cw *c, char **vals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(c->sep, c->out);
        csvio_write_field(c->out, vals[i], vals[i] ? strlen(vals[i]) : 0);
    }
    fputs("\r\n", c->out);
}

static void flush_row(cw *c)
{
    if (!c->header_written) {
        if (c->bom)
            fputs("\xEF\xBB\xBF", c->out);
        c->nheader = c->ncells;
        c->header = vb_xcalloc(c->ncells, sizeof(char *));
        for (size_t i = 0; i < c->ncells; i++)
            c->header[i] = vb_xstrdup(c->cells[i].name);
        put_row(c, c->header, c->nheader);
        c->header_written = true;
    }
    char **vals = vb_xcalloc(c->nheader, sizeof(char *));
    /* Rows mostly come in the header's order: each search starts after
     * the cell found last (one compare a column, not one a cell); a
     * row's keys are unique, as a JSON stream's. */
    size_t from = 0;
    for (size_t i = 0; i < c->nheader && c->ncells; i++)
        for (size_t n = 0; n < c->ncells; n++) {
            size_t k = (from + n) % c->ncells;
            if (strcmp(c->header[i], c->cells[k].name) == 0) {
                vals[i] = c->cells[k].value;
                from = k + 1;
                break;
            }
        }
    put_row(c, vals, c->nheader);
    free(vals);
    for (size_t k = 0; k < c->ncells; k++) {
        free(c->cells[k].name);
        free(c->cells[k].value);
    }
    free(c->cells);
    c->cells = NULL;
    c->ncells = 0;
}

static void add_cell(cw *c, char *name, char *value)
{
    c->cells = vb_xrealloc(c->cells, (c->ncells + 1) * sizeof(cell));
    c->cells[c->ncells].name = name;
    c->cells[c->ncells].value = value;
    c->ncells++;
}

static void cw_begin(writer *w, const char *key, bool array)
{
    cw *c = w->priv;
    if (c->depth >= MAX_DEPTH)
        abort();
    bool parent_is_array = c->depth > 0 && c->is_array[c->depth - 1];
    c->is_array[c->depth] = array;
    c->keys[c->depth] = (key && !parent_is_array) ? vb_xstrdup(key) : NULL;
    c->depth++;
    if (array && !c->table_depth && !c->table_done) {
        c->table_depth = c->depth;
        return;
    }
    if (!array && c->table_depth && c->depth == c->table_depth + 1) {
        c->row_depth = c->depth;
        free(c->keys[c->depth - 1]);
        c->keys[c->depth - 1] = NULL;
        return;
    }
    if (array && c->row_depth && !c->join_depth) {
        c->join_depth = c->depth;
        c->join = vb_xstrdup("");
        c->join_n = 0;
        c->join_text = false;
    }
}

/* Would a spreadsheet take this text cell for a formula? */
static bool formula_like(const char *s)
{
    return s[0] && strchr("=+-@\t\r", s[0]) != NULL;
}

/* v (owned) as a text cell: prefixed with ' when formula_like. */
static char *text_cell(char *v)
{
    if (!formula_like(v))
        return v;
    char *p = vb_xasprintf("'%s", v);
    free(v);
    return p;
}

static void cw_end(writer *w)
{
    cw *c = w->priv;
    if (c->depth == 0)
        return;
    if (c->join_depth == c->depth) {
        c->depth--;
        /* One number stays a number; anything else joined is text. */
        char *v = c->join_text || c->join_n > 1 ? text_cell(c->join) : c->join;
        add_cell(c, field_name(c, c->keys[c->depth]), v);
        c->depth++;
        c->join = NULL;
        c->join_depth = 0;
    } else if (c->row_depth == c->depth) {
        flush_row(c);
        c->row_depth = 0;
    } else if (c->table_depth == c->depth) {
        c->table_depth = 0;
        c->table_done = true;
    }
    c->depth--;
    free(c->keys[c->depth]);
    c->keys[c->depth] = NULL;
}

static char *value_text(const writer_value *x)
{
    char b[64];
    switch (x->type) {
    case WV_STRING: return vb_xstrdup(x->s);
    case WV_INT:    return vb_xasprintf("%lld", (long long)x->i);
    case WV_DOUBLE: writer_format_double(b, sizeof b, x->d); return vb_xstrdup(b);
    case WV_BOOL:   return vb_xstrdup(x->b ? "true" : "false");
    default:        return vb_xstrdup("");
    }
}

static void cw_value(writer *w, const char *key, const writer_value *x)
{
    cw *c = w->priv;
    if (!c->row_depth)
        return;
    char *v = value_text(x);
    if (c->join_depth) {
        if (!v[0]) {
            free(v);
            return;
        }
        c->join_n++;
        c->join_text |= x->type == WV_STRING;
        char *j = c->join[0] ? vb_xasprintf("%s; %s", c->join, v) : vb_xstrdup(v);
        free(c->join);
        free(v);
        c->join = j;
        return;
    }
    add_cell(c, field_name(c, key), x->type == WV_STRING ? text_cell(v) : v);
}

static char *cw_finish(writer *w, size_t *len)
{
    cw *c = w->priv;
    fflush(c->out);
    if (c->external) {
        *len = 0;
        return vb_xstrdup("");
    }
    char *s = vb_xstrndup(c->buf ? c->buf : "", c->len);
    *len = c->len;
    return s;
}

static void cw_destroy(writer *w)
{
    cw *c = w->priv;
    if (!c->external)
        fclose(c->out);
    free(c->buf);
    for (int d = 0; d < MAX_DEPTH; d++)
        free(c->keys[d]);
    for (size_t k = 0; k < c->ncells; k++) {
        free(c->cells[k].name);
        free(c->cells[k].value);
    }
    free(c->cells);
    for (size_t i = 0; i < c->nheader; i++)
        free(c->header[i]);
    free(c->header);
    free(c->join);
    free(c);
    w->priv = NULL;
}

const writer_ops writer_csv_ops = {
    cw_begin, cw_end, cw_value, cw_finish, cw_destroy,
};
