/* vbatch.h - what every part of vbatch shares: errors, exit codes,
 * allocation and the few rules that hold everywhere.
 *
 * Rules, stated once:
 *  - Functions return 0 on success and -1 (or another negative value) on
 *    failure, filling a caller-owned vb_error with a code and a message.
 *    Nothing below main() prints an error and forgets it.
 *  - x_new() returns an owned object; x_free(&p) releases it and sets p to
 *    NULL. A returned char * belongs to the caller (free()). Struct fields
 *    are owned unless marked "borrowed".
 *  - Running out of memory is the only fatal error: the vb_x* allocators
 *    abort with a message instead of returning NULL.
 */
#ifndef VBATCH_H
#define VBATCH_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Exit status of the program (see man/vbatch.1). */
enum {
    VB_EXIT_OK = 0,          /* all processed, all fail-level gates passed */
    VB_EXIT_QC = 1,          /* some items failed a quality gate */
    VB_EXIT_USAGE = 2,       /* bad option or configuration */
    VB_EXIT_ITEMS = 3,       /* some items could not be processed */
    VB_EXIT_INTERRUPTED = 4, /* interrupted, can be resumed */
    VB_EXIT_EMPTY = 5,       /* no item found: nothing was checked */
};

/* The version of the layout of every JSON file and document vbatch
 * writes (its first key, "schema_version"): raised when a key changes
 * meaning or goes, not when one is added. */
#define VB_SCHEMA_VERSION 1

/* Error classes; the class decides how an error is reported and whether
 * an operation may be retried. */
enum vb_errcode {
    VB_OK = 0,
    VB_ERR_USAGE,    /* bad command line */
    VB_ERR_CONFIG,   /* bad preset or config file */
    VB_ERR_IO,       /* file system */
    VB_ERR_MEDIA,    /* not media, corrupt, unsupported */
    VB_ERR_NET,      /* network, permanent */
    VB_ERR_NET_RETRY,/* network, worth retrying */
    VB_ERR_LIMIT,    /* a configured limit was exceeded */
    VB_ERR_INTERNAL,
    VB_ERR_IO_RETRY, /* file system, worth retrying (EIO, ESTALE ...) */
};

typedef struct vb_error {
    int code;        /* enum vb_errcode */
    char msg[1024];
} vb_error;

/* Set e (if not NULL) and return -1, so that `return vb_fail(...)` reads
 * naturally. */
int vb_fail(vb_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message: "context: old message". Returns -1. */
int vb_prefix(vb_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void vb_error_clear(vb_error *e);
const char *vb_errcode_name(int code);

void *vb_xmalloc(size_t n);
void *vb_xcalloc(size_t n, size_t size);
void *vb_xrealloc(void *p, size_t n);
char *vb_xstrdup(const char *s);
char *vb_xstrndup(const char *s, size_t n);
char *vb_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *vb_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Global verbosity set by main from --quiet / --verbose. */
extern int vb_verbosity; /* 0 quiet, 1 normal, 2 verbose */
/* The whole command line as typed (quoted where needed), set by main
 * before any option parsing reorders argv; for the reports. */
extern const char *vb_command_line;

#define VB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
