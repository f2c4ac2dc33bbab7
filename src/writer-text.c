/* writer-text.c - human-readable back end: "key: value" lines, indented
 * by nesting; array elements numbered. */
#include "config.h"
#include "writer-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct tw {
    char *buf;
    size_t len;
    FILE *out;
    bool external;          /* out belongs to the caller */
    int depth;
    bool is_array[MAX_DEPTH];
    int count[MAX_DEPTH];
} tw;

void *writer_text_new(FILE *out)
{
    tw *t = vb_xcalloc(1, sizeof *t);
    t->external = out != NULL;
    t->out = out ? out : open_memstream(&t->buf, &t->len);
    if (!t->out)
        abort();
    return t;
}

static void indent(tw *t)
{
    /* The outermost container is implicit: no indentation for it. */
    for (int i = 1; i < t->depth; i++)
        fputs("  ", t->out);
}

static void label(tw *t, const char *key)
{
    indent(t);
    if (t->depth > 0 && t->is_array[t->depth - 1])
        fprintf(t->out, "[%d]", t->count[t->depth - 1]++);
    else
        fputs(key ? key : "", t->out);
}

static void tw_begin(writer *w, const char *key, bool array)
{
    tw *t = w->priv;
    if (t->depth > 0) {
        label(t, key);
        fputs(":\n", t->out);
    }
    if (t->depth < MAX_DEPTH) {
        t->is_array[t->depth] = array;
        t->count[t->depth] = 0;
    }
    t->depth++;
}

static void tw_end(writer *w)
{
    tw *t = w->priv;
    if (t->depth > 0)
        t->depth--;
}

static void tw_value(writer *w, const char *key, const writer_value *x)
{
    tw *t = w->priv;
    label(t, key);
    fputs(": ", t->out);
    char b[64];
    switch (x->type) {
    case WV_STRING:
        /* Keep one value per line even if it holds control characters. */
        for (const char *p = x->s; *p; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch < 0x20 || ch == 0x7f)
                fprintf(t->out, "\\x%02x", ch);
            else
                fputc(ch, t->out);
        }
        break;
    case WV_INT:    fprintf(t->out, "%lld", (long long)x->i); break;
    case WV_DOUBLE: writer_format_double(b, sizeof b, x->d); fputs(b, t->out); break;
    case WV_BOOL:   fputs(x->b ? "yes" : "no", t->out); break;
    default:        fputs("-", t->out); break;
    }
    fputc('\n', t->out);
}

static char *tw_finish(writer *w, size_t *len)
{
    tw *t = w->priv;
    fflush(t->out);
    if (t->external) {
        *len = 0;
        return vb_xstrdup("");
    }
    *len = t->len;
    return vb_xstrndup(t->buf ? t->buf : "", t->len);
}

static void tw_destroy(writer *w)
{
    tw *t = w->priv;
    if (!t->external)
        fclose(t->out);
    free(t->buf);
    free(t);
    w->priv = NULL;
}

const writer_ops writer_text_ops = {
    tw_begin, tw_end, tw_value, tw_finish, tw_destroy,
};
