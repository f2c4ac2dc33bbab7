/* csvio.h - CSV reading and writing (RFC 4180). Every use of libcsv is in
 * csvio.c; the rest of vbatch sees these functions only.
 *
 * The file is not called csv.h: libcsv's own header has that name, and
 * include/ comes first on the include path. Its functions are csv_*, so
 * ours are csvio_*. */
#ifndef VB_CSVIO_H
#define VB_CSVIO_H

#include "vbatch.h"
#include <stdio.h>

/* One field of a record: the bytes between the delimiters, quotes and
 * doubled quotes undone. s is NUL-terminated (s[len] == '\0') but may
 * hold NUL bytes of its own: compare strlen(s) with len to refuse them. */
typedef struct csvio_field {
    const char *s;       /* borrowed: valid during the callback only */
    size_t len;
} csvio_field;

/* Called once per record, in file order. `line` is the physical line
 * (1-based) where the record starts, so a message can name FILE:LINE
 * even after prompts holding newlines. Return 0 to go on, anything else
 * to stop reading (csvio_read_* then returns that value). */
typedef int (*csvio_record_fn)(int line, const csvio_field *f, size_t n, void *ud);

/* Largest field accepted; a longer one is an error naming its line. */
#define CSVIO_MAX_FIELD (1024 * 1024)

/* Stream the records of a file. Accepted: quoted fields holding commas,
 * doubled quotes and line breaks (LF or CRLF), a UTF-8 byte order mark at
 * the start, blank lines (skipped), no line break at the end. Unquoted
 * fields lose surrounding spaces and tabs. A stray quote or an
 * unterminated quoted field is an error naming FILE:LINE. Returns 0, the
 * callback's non-zero value, or -1 with e set. */
int csvio_read_file(const char *path, csvio_record_fn fn, void *ud, vb_error *e);
/* The same over a buffer; `origin` names it in messages. */
int csvio_read_mem(const char *data, size_t len, const char *origin,
                   csvio_record_fn fn, void *ud, vb_error *e);

/* Write one field quoted as RFC 4180 wants (always between quotes,
 * inner quotes doubled). 0, or -1 on a write error. */
int csvio_write_field(FILE *out, const char *s, size_t len);

/* libcsv's version, "3.0.3". */
const char *csvio_version(void);

#endif
