/* writer.c - the format-independent front of the writer: dispatch to
 * the back end chosen at creation. */
#include "config.h"
#include "writer-impl.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

writer *writer_new_stream(enum writer_format fmt, FILE *out)
{
    writer *w = vb_xcalloc(1, sizeof *w);
    switch (fmt) {
    case WRITER_JSON: w->ops = &writer_json_ops; w->priv = writer_json_new(out); break;
    case WRITER_JSON_LINES:
        w->ops = &writer_json_ops;
        w->priv = writer_json_new_lines(out);
        break;
    case WRITER_CSV:  w->ops = &writer_csv_ops;  w->priv = writer_csv_new(out);  break;
    default:          w->ops = &writer_text_ops; w->priv = writer_text_new(out); break;
    }
    return w;
}

writer *writer_new(enum writer_format fmt)
{
    return writer_new_stream(fmt, NULL);
}

void writer_free(writer **pw)
{
    if (!pw || !*pw)
        return;
    writer *w = *pw;
    if (w->priv)
        w->ops->destroy(w);
    free(w);
    *pw = NULL;
}

int writer_format_parse(const char *name)
{
    if (strcmp(name, "text") == 0) return WRITER_TEXT;
    if (strcmp(name, "json") == 0) return WRITER_JSON;
    if (strcmp(name, "csv") == 0)  return WRITER_CSV;
    return -1;
}

void writer_begin_object(writer *w, const char *key) { w->ops->begin(w, key, false); }
void writer_begin_array(writer *w, const char *key)  { w->ops->begin(w, key, true); }
void writer_end_object(writer *w) { w->ops->end(w); }
void writer_end_array(writer *w)  { w->ops->end(w); }

void writer_string(writer *w, const char *key, const char *v)
{
    writer_value x = { .type = v ? WV_STRING : WV_NULL, .s = v };
    w->ops->value(w, key, &x);
}

void writer_int(writer *w, const char *key, int64_t v)
{
    writer_value x = { .type = WV_INT, .i = v };
    w->ops->value(w, key, &x);
}

void writer_double(writer *w, const char *key, double v)
{
    writer_value x = { .type = isfinite(v) ? WV_DOUBLE : WV_NULL, .d = v };
    w->ops->value(w, key, &x);
}

void writer_bool(writer *w, const char *key, bool v)
{
    writer_value x = { .type = WV_BOOL, .b = v };
    w->ops->value(w, key, &x);
}

void writer_null(writer *w, const char *key)
{
    writer_value x = { .type = WV_NULL };
    w->ops->value(w, key, &x);
}

void writer_opt_int(writer *w, const char *key, int64_t v)
{
    if (v > 0)
        writer_int(w, key, v);
    else
        writer_null(w, key);
}

char *writer_finish(writer *w, size_t *len)
{
    size_t n = 0;
    char *s = w->ops->finish(w, &n);
    if (len)
        *len = n;
    return s;
}

void writer_print(writer *w, FILE *f)
{
    size_t n;
    char *s = writer_finish(w, &n);
    fwrite(s, 1, n, f);
    free(s);
}

int writer_save(writer *w, const char *path, vb_error *e)
{
    size_t n;
    char *s = writer_finish(w, &n);
    int rc = util_write_atomic(path, s, n, e);
    free(s);
    return rc;
}

void writer_format_double(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%.10g", v);
}

void writer_csv_options(writer *w, char separator, bool bom)
{
    if (w && w->ops == &writer_csv_ops)
        writer_csv_configure(w->priv, separator, bom);
}
