/* error.c - the error value carried up to whoever reports it, and the
 * allocators that make running out of memory the one fatal error. */
#include "config.h"
#include "vbatch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vb_verbosity = 1;
const char *vb_command_line = "vbatch";

int vb_fail(vb_error *e, int code, const char *fmt, ...)
{
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int vb_prefix(vb_error *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char pre[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t n = strlen(pre);
    if (n > sizeof e->msg - 3)
        n = sizeof e->msg - 3;
    memcpy(e->msg, pre, n);
    memcpy(e->msg + n, ": ", 2);
    size_t room = sizeof e->msg - n - 3;
    size_t ol = strnlen(old, room);
    memcpy(e->msg + n + 2, old, ol);
    e->msg[n + 2 + ol] = '\0';
    return -1;
}

void vb_error_clear(vb_error *e)
{
    if (e) {
        e->code = VB_OK;
        e->msg[0] = '\0';
    }
}

const char *vb_errcode_name(int code)
{
    static const char *const names[] = {
        [VB_OK] = "ok", [VB_ERR_USAGE] = "usage", [VB_ERR_CONFIG] = "config",
        [VB_ERR_IO] = "io", [VB_ERR_MEDIA] = "media", [VB_ERR_NET] = "network",
        [VB_ERR_NET_RETRY] = "network", [VB_ERR_LIMIT] = "limit",
        [VB_ERR_INTERNAL] = "internal", [VB_ERR_IO_RETRY] = "io",
    };
    if (code < 0 || (size_t)code >= VB_ARRAY_LEN(names) || !names[code])
        return "error";
    return names[code];
}

static void *oom(size_t n)
{
    fprintf(stderr, "vbatch: out of memory (%zu bytes)\n", n);
    abort();
}

void *vb_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *vb_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}

void *vb_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *vb_xstrdup(const char *s)
{
    return vb_xstrndup(s, strlen(s));
}

char *vb_xstrndup(const char *s, size_t n)
{
    char *p = vb_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *vb_xvasprintf(const char *fmt, va_list ap)
{
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0)
        oom(strlen(fmt));
    return p;
}

char *vb_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = vb_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}
