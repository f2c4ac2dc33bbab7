/* writer-json.c - JSON back end of the writer, built with jansson. */
#include "config.h"
#include "writer-impl.h"
#include "jsonx.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct jw {
    json_t *stack[MAX_DEPTH];
    int depth;
    json_t *root;
} jw;

void *writer_json_new(void)
{
    return vb_xcalloc(1, sizeof(jw));
}

static void attach(jw *j, const char *key, json_t *v)
{
    if (j->depth == 0) {
        if (!j->root)
            j->root = v;
        else
            json_decref(v);
        return;
    }
    json_t *top = j->stack[j->depth - 1];
    if (json_is_array(top))
        json_array_append_new(top, v);
    else
        json_object_set_new(top, key ? key : "", v);
}

static void jw_begin(writer *w, const char *key, bool array)
{
    jw *j = w->priv;
    json_t *v = array ? json_array() : json_object();
    if (!v)
        abort();
    attach(j, key, json_incref(v));
    if (j->depth < MAX_DEPTH)
        j->stack[j->depth++] = v;
    else
        json_decref(v);
}

static void jw_end(writer *w)
{
    jw *j = w->priv;
    if (j->depth > 0)
        json_decref(j->stack[--j->depth]);
}

static void jw_value(writer *w, const char *key, const writer_value *x)
{
    jw *j = w->priv;
    json_t *v;
    switch (x->type) {
    case WV_STRING: v = jsonx_str(x->s); break;
    case WV_INT:    v = json_integer(x->i); break;
    case WV_DOUBLE: v = json_real(x->d); break;
    case WV_BOOL:   v = json_boolean(x->b); break;
    default:        v = json_null(); break;
    }
    if (!v)
        abort();
    attach(j, key, v);
}

static char *jw_finish(writer *w, size_t *len)
{
    jw *j = w->priv;
    char *s = NULL;
    if (j->root)
        s = json_dumps(j->root, JSON_INDENT(2) | JSON_REAL_PRECISION(10) |
                                    JSON_ENCODE_ANY);
    if (!s)
        s = strdup("null");
    if (!s)
        abort();
    size_t n = strlen(s);
    char *out = vb_xmalloc(n + 2);
    memcpy(out, s, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    free(s);
    *len = n + 1;
    return out;
}

static void jw_destroy(writer *w)
{
    jw *j = w->priv;
    while (j->depth > 0)
        json_decref(j->stack[--j->depth]);
    json_decref(j->root);
    free(j);
    w->priv = NULL;
}

const writer_ops writer_json_ops = {
    jw_begin, jw_end, jw_value, jw_finish, jw_destroy,
};
