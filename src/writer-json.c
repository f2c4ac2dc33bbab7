/* writer-json.c - JSON back end of the writer, with jansson. Two modes,
 * the same bytes: a tree built and dumped at writer_finish (the default),
 * or, given a FILE, a stream written as it goes (a report of any number
 * of items in flat memory). The stream lays out the structure itself,
 * the way jansson's JSON_INDENT(2) does, and has every key and value
 * encoded by jansson. In a stream, keys are written as they come: an
 * object's keys must be unique (the tree keeps the last). A third mode,
 * JSON Lines, streams compact values, one top-level value a line (a
 * report too large for one document that tools read whole). */
#include "config.h"
#include "writer-impl.h"
#include "jsonx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

#define DUMP_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY)
#define LINE_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY)

typedef struct jw {
    json_t *stack[MAX_DEPTH];
    int depth;
    json_t *root;
    /* stream mode */
    FILE *out;
    int sdepth;                 /* containers open */
    bool members[MAX_DEPTH];    /* ... that have a member yet */
    bool arrays[MAX_DEPTH];
    int muted;                  /* > 0: inside a container not written */
    bool rooted;                /* the top-level value is written */
    bool lines;                 /* JSON Lines: compact, a line each */
} jw;

void *writer_json_new(FILE *out)
{
    jw *j = vb_xcalloc(1, sizeof(jw));
    j->out = out;
    return j;
}

void *writer_json_new_lines(FILE *out)
{
    jw *j = writer_json_new(out);
    j->lines = true;
    return j;
}

/* ---- stream mode ---- */

static void js_dump(jw *j, json_t *v)
{
    char *s = v ? json_dumps(v, j->lines ? LINE_FLAGS : DUMP_FLAGS) : NULL;
    if (!s)
        abort();
    fputs(s, j->out);
    free(s);
}

/* Whether jansson takes s as a string: UTF-8, as its utf8_check_*
 * judge it. */
static bool js_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, cp;
        int len;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (len == 3 && cp < 0x800) ||
            (len == 4 && cp < 0x10000))
            return false;
        p += len;
    }
    return true;
}

/* jansson's text for a string (JSON_INDENT without ENSURE_ASCII: UTF-8
 * as it is, '"', '\\' and controls escaped), written directly: dumping
 * every key and value through jansson took a third of rendering a large
 * batch. -1 when s is not UTF-8: jansson's path decides then. */
static int js_str(FILE *f, const char *s)
{
    if (!js_utf8(s))
        return -1;
    fputc('"', f);
    const char *run = s;
    const unsigned char *p;
    for (p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        fwrite(run, 1, (size_t)((const char *)p - run), f);
        run = (const char *)p + 1;
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t" : NULL;
        if (esc)
            fputs(esc, f);
        else
            fprintf(f, "\\u%04X", c);
    }
    fwrite(run, 1, (size_t)((const char *)p - run), f);
    fputc('"', f);
    return 0;
}

/* jansson's text at JSON_REAL_PRECISION(10). */
static void js_real(FILE *f, double v)
{
    char b[JSONX_REAL_MAX];
    fwrite(b, 1, (size_t)jsonx_real_text(b, v, 10), f);
}

/* A value as jansson would dump it; -1: left to jansson. */
static int js_value(FILE *f, const writer_value *x)
{
    switch (x->type) {
    case WV_STRING: return x->s ? js_str(f, x->s) : (fputs("null", f), 0);
    case WV_INT:    fprintf(f, "%lld", (long long)x->i); return 0;
    case WV_DOUBLE:
        if (!isfinite(x->d))
            return -1;
        js_real(f, x->d);
        return 0;
    case WV_BOOL:   fputs(x->b ? "true" : "false", f); return 0;
    default:        fputs("null", f); return 0;
    }
}

/* Start a member: its separator, indent and key. False when it is not
 * to be written: what the tree would drop (a second top-level value, a
 * key that is not UTF-8), or inside such a container. */
static bool js_member(jw *j, const char *key)
{
    if (j->muted)
        return false;
    if (j->sdepth == 0) {
        if (j->rooted && !j->lines)
            return false;
        j->rooted = true;
        return true;
    }
    int d = j->sdepth - 1;
    const char *k = key ? key : "";
    if (!j->arrays[d] && !js_utf8(k))
        return false;
    if (j->lines) {
        if (j->members[d])
            fputc(',', j->out);
        j->members[d] = true;
        if (!j->arrays[d]) {
            js_str(j->out, k);
            fputc(':', j->out);
        }
        return true;
    }
    /* ",\n" and the indent in one write (MAX_DEPTH levels of 2). */
    static const char sep[] = ",\n" "                                                  "
                              "                                                  "
                              "                            ";
    _Static_assert(sizeof sep - 3 >= 2 * MAX_DEPTH, "the indent fits");
    int skip = j->members[d] ? 0 : 1;
    fwrite(sep + skip, 1, (size_t)(2 - skip + 2 * j->sdepth), j->out);
    j->members[d] = true;
    if (!j->arrays[d]) {
        js_str(j->out, k);
        fputs(": ", j->out);
    }
    return true;
}

static void js_begin(jw *j, const char *key, bool array)
{
    if (!js_member(j, key) || j->sdepth == MAX_DEPTH) {
        j->muted++;
        return;
    }
    fputc(array ? '[' : '{', j->out);
    j->arrays[j->sdepth] = array;
    j->members[j->sdepth] = false;
    j->sdepth++;
}

static void js_end(jw *j)
{
    if (j->muted) {
        j->muted--;
        return;
    }
    if (j->sdepth == 0)
        return;
    int d = --j->sdepth;
    if (j->members[d] && !j->lines)
        fprintf(j->out, "\n%*s", 2 * d, "");
    fputc(j->arrays[d] ? ']' : '}', j->out);
    if (j->lines && d == 0)
        fputc('\n', j->out);
}

/* ---- tree mode ---- */

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
    if (j->out) {
        js_begin(j, key, array);
        return;
    }
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
    if (j->out) {
        js_end(j);
        return;
    }
    if (j->depth > 0)
        json_decref(j->stack[--j->depth]);
}

/* JSON Lines: a top-level scalar ends its line. */
static void js_line_end(jw *j)
{
    if (j->lines && j->sdepth == 0 && !j->muted)
        fputc('\n', j->out);
}

static void jw_value(writer *w, const char *key, const writer_value *x)
{
    jw *j = w->priv;
    json_t *v;
    if (j->out && !j->muted && x->type != WV_STRING) {
        /* Numbers and the like straight out; strings below, checked. */
        if (x->type != WV_DOUBLE || isfinite(x->d)) {
            if (js_member(j, key))
                js_value(j->out, x);
            js_line_end(j);
            return;
        }
    }
    if (j->out && !j->muted && x->type == WV_STRING && (!x->s || js_utf8(x->s))) {
        if (js_member(j, key))
            js_value(j->out, x);
        js_line_end(j);
        return;
    }
    switch (x->type) {
    case WV_STRING: v = jsonx_str(x->s); break;
    case WV_INT:    v = json_integer(x->i); break;
    case WV_DOUBLE: v = json_real(x->d); break;
    case WV_BOOL:   v = json_boolean(x->b); break;
    default:        v = json_null(); break;
    }
    if (!v)
        abort();
    if (!j->out) {
        attach(j, key, v);
        return;
    }
    if (js_member(j, key))
        js_dump(j, v);
    js_line_end(j);
    json_decref(v);
}

static char *jw_finish(writer *w, size_t *len)
{
    jw *j = w->priv;
    if (j->out) {
        /* What is still open is closed, as the tree would dump it. */
        while (j->muted || j->sdepth)
            js_end(j);
        if (!j->lines)
            fputs(j->rooted ? "\n" : "null\n", j->out);
        *len = 0;
        return vb_xstrdup("");
    }
    char *s = NULL;
    if (j->root)
        s = json_dumps(j->root, DUMP_FLAGS);
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
