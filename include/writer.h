/* writer.h - one interface for every output format. Code that produces
 * results calls these functions; a back end (text, JSON, CSV) decides how
 * they look. Producers never know the format.
 *
 * Model: a tree of objects and arrays with named fields. `key` is the
 * field name inside an object and is ignored (may be NULL) inside an array.
 *
 * CSV back end: the first array met at any depth is the table; each
 * object inside it is one row; nested objects are flattened with dotted
 * names ("video.codec"); nested arrays are joined with "; ". The header
 * row is taken from the first row. Fields outside the table are ignored.
 */
#ifndef VB_WRITER_H
#define VB_WRITER_H

#include "vbatch.h"
#include <stdio.h>

/* WRITER_JSON_LINES: streams only; compact, every top-level value on a
 * line of its own (JSON Lines), as many as are written. */
enum writer_format { WRITER_TEXT, WRITER_JSON, WRITER_CSV, WRITER_JSON_LINES };

typedef struct writer writer;

writer *writer_new(enum writer_format fmt);
/* A writer that streams to `out` as it goes, in flat memory (JSON: the
 * same bytes as the tree writer_new builds, but an object's keys must be
 * unique). writer_finish then returns an empty string; `out` is not
 * closed. */
writer *writer_new_stream(enum writer_format fmt, FILE *out);
/* A CSV writer's separator (',' or ';') and whether its output begins
 * with a UTF-8 BOM; before anything is written. Nothing for the other
 * formats. */
void writer_csv_options(writer *w, char separator, bool bom);
void writer_free(writer **w);
/* "text", "json", "csv" -> format; -1 if unknown. */
int writer_format_parse(const char *name);

void writer_begin_object(writer *w, const char *key);
void writer_end_object(writer *w);
void writer_begin_array(writer *w, const char *key);
void writer_end_array(writer *w);
void writer_string(writer *w, const char *key, const char *v); /* NULL->null */
void writer_int(writer *w, const char *key, int64_t v);
void writer_double(writer *w, const char *key, double v); /* NaN -> null */
void writer_bool(writer *w, const char *key, bool v);
void writer_null(writer *w, const char *key);
/* v if it is positive, null otherwise ("unknown"). */
void writer_opt_int(writer *w, const char *key, int64_t v);

/* Finish and hand over the whole output as a NUL-terminated string that
 * the caller frees. The writer can not be used afterwards. */
char *writer_finish(writer *w, size_t *len);

/* Finish and write it to f (commands printing to stdout). */
void writer_print(writer *w, FILE *f);

/* Finish and write it to `path` atomically (temporary name, flush,
 * rename). */
int writer_save(writer *w, const char *path, vb_error *e);

#endif
