/* msg.c - the message family (see msg.h). Messages are formatted into
 * one buffer and written with one fputs, so lines of several threads do
 * not interleave. */
#include "config.h"
#include "msg.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_bool live;

void msg_live(bool on)
{
    atomic_store(&live, on);
}

bool msg_is_live(void)
{
    return atomic_load(&live);
}

char *msg_printable(char *s)
{
    for (unsigned char *p = (unsigned char *)s; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    return s;
}

char *msg_printable_dup(const char *s)
{
    return msg_printable(vb_xstrdup(s ? s : ""));
}

static void emit(const char *prefix, const char *fmt, va_list ap)
{
    char *body = vb_xvasprintf(fmt, ap);
    msg_printable(body);
    char *line = vb_xasprintf("%s%s%s\n", atomic_load(&live) ? MSG_ERASE_LINE : "", prefix, body);
    fputs(line, stderr);
    free(line);
    free(body);
}

#define MSG_AT(name, min, prefix)                 \
    void name(const char *fmt, ...)               \
    {                                             \
        if (vb_verbosity < (min))                 \
            return;                               \
        va_list ap;                               \
        va_start(ap, fmt);                        \
        emit(prefix, fmt, ap);                    \
        va_end(ap);                               \
    }

MSG_AT(msg_error, 0, "vbatch: ")
MSG_AT(msg_warn, 1, "vbatch: ")
MSG_AT(msg_note, 1, "vbatch: ")
MSG_AT(msg_verbose, 2, "vbatch: ")
MSG_AT(msg_line, 1, "")
