/* jsonx.c - shared jansson helpers (see jsonx.h). */
#include "config.h"
#include "jsonx.h"
#include "vbatch.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *jsonx_str(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    if (!v) {
        /* File names may hold invalid UTF-8: keep the field, mark the
         * bad bytes. */
        char *fixed = util_utf8_sanitize(s);
        v = json_string(fixed);
        free(fixed);
    }
    return v;
}

char *jsonx_dup(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? vb_xstrdup(s) : NULL;
}

double jsonx_num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int64_t jsonx_int(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

int jsonx_real_text(char *b, double v, int precision)
{
    int n = snprintf(b, JSONX_REAL_MAX, "%.*g", precision, v);
    if (!strchr(b, '.') && !strchr(b, 'e')) {
        memcpy(b + n, ".0", 3);
        n += 2;
    }
    char *start = strchr(b, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)n - (size_t)(end - b) + 1);
            n -= (int)(end - start);
        }
    }
    return n;
}
