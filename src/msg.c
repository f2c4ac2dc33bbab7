/* msg.c - the message family (see msg.h). Messages are formatted into
 * one buffer and written with one fputs, so lines of several threads do
 * not interleave. */
#include "config.h"
#include "msg.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    for (unsigned char *p = (unsigned char *)s; p && *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
        /* U+0080-U+009F (C1: CSI is U+009B), which some terminals obey. */
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            p[0] = p[1] = '?';
    }
    return s;
}

bool msg_colour(void)
{
    static atomic_int known;    /* 0 unknown, 1 no, 2 yes */
    int k = atomic_load(&known);
    if (k == 0) {
        /* no-color.org: NO_COLOR set and not empty turns it off. */
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        k = isatty(STDERR_FILENO) && !(nc && nc[0]) && term && term[0] &&
                    strcmp(term, "dumb") != 0 ? 2 : 1;
        atomic_store(&known, k);
    }
    return k == 2;
}

void msg_tagged(const char *lead, int colour, const char *tag, const char *fmt, ...)
{
    static const char *const sgr[] = {
        [MSG_PLAIN] = "", [MSG_RED] = "\033[31m", [MSG_YELLOW] = "\033[33m",
        [MSG_MAGENTA] = "\033[35m",
    };
    if (vb_verbosity < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *body = msg_printable(vb_xvasprintf(fmt, ap));
    va_end(ap);
    bool on = colour > MSG_PLAIN && colour <= MSG_MAGENTA && msg_colour();
    /* The tag padded to 5 columns outside its colour, so lines align. */
    char *line = vb_xasprintf("%s%s%s%s%s%*s %s\n", atomic_load(&live) ? MSG_ERASE_LINE : "",
                              lead, on ? sgr[colour] : "", tag, on ? "\033[0m" : "",
                              (int)(strlen(tag) < 5 ? 5 - strlen(tag) : 0), "", body);
    fputs(line, stderr);
    free(line);
    free(body);
}

char *msg_printable_dup(const char *s)
{
    return msg_printable(vb_xstrdup(s ? s : ""));
}

static void emit(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

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
